// Package lambdaexec is the Lambda executor of package tasks: it runs a
// task's tool in an invocation of its own, by invoking the function itself
// asynchronously (InvocationType Event) with a task-run payload. It is the
// one part of the tasks machinery that imports the AWS SDK.
//
// In Lambda the invocation that creates a task returns at once, and its
// execution environment is frozen until the next invocation: a goroutine
// left running there would not run. The run therefore gets an invocation
// of its own, with the function's whole timeout (at most 15 minutes), on
// whichever instance Lambda picks; the function's handler routes the
// payload to [tasks.Manager.HandleEvent]:
//
//	exec, err := lambdaexec.FromEnv(ctx, nil) // nil outside Lambda: goroutines
//	if err != nil {
//		log.Fatal(err)
//	}
//	m := tasks.New(server, store, &tasks.Options{Executor: exec})
//	mcplambda.Start(server, &mcplambda.Options{
//		Events: map[string]mcplambda.EventHandler{tasks.RunEvent: m.HandleEvent},
//	})
//
// The function's role needs lambda:InvokeFunction on the function itself
// (deploy/cdk grants it when tasks are on). Asynchronous invocations are
// queued by Lambda and retried on a function error (twice by default);
// a run that is delivered twice runs once, and a run that crashed is not
// run again (its task fails when its lease lapses). Under `mcplambda dev`
// the function's SDK reaches dev's own Invoke API (dev sets
// AWS_ENDPOINT_URL_LAMBDA and local credentials for its instances).
package lambdaexec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/mcplambda/mcplambda/tasks"
)

// Client is the method of *lambda.Client the executor uses.
type Client interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

var _ Client = (*lambda.Client)(nil)

// Options configures [New]. A nil *Options means defaults.
type Options struct {
	// Function is the function to invoke: a name or an ARN. "" means the
	// running function, AWS_LAMBDA_FUNCTION_NAME.
	Function string
	// Qualifier is the version or alias to invoke. "" means the running
	// version (AWS_LAMBDA_FUNCTION_VERSION) unless it is $LATEST, so that
	// a run executes the code that created its task.
	Qualifier string
	// Logger logs each invocation at level Debug. nil means no logs.
	Logger *slog.Logger
}

// Executor is a [tasks.Executor] that invokes a Lambda function
// asynchronously. Safe for concurrent use.
type Executor struct {
	client    Client
	function  string
	qualifier string
	logger    *slog.Logger
}

var _ tasks.Executor = (*Executor)(nil)

// ErrNoFunction is returned by [New] when neither Options.Function nor
// AWS_LAMBDA_FUNCTION_NAME names a function.
var ErrNoFunction = errors.New("lambdaexec: no function to invoke: set Options.Function (AWS_LAMBDA_FUNCTION_NAME is unset)")

// New returns an executor invoking, with client, the function that opts
// names (by default the running one).
func New(client Client, opts *Options) (*Executor, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	e := &Executor{client: client, function: o.Function, qualifier: o.Qualifier, logger: o.Logger}
	if e.function == "" {
		e.function = os.Getenv("AWS_LAMBDA_FUNCTION_NAME")
		if e.qualifier == "" {
			if v := os.Getenv("AWS_LAMBDA_FUNCTION_VERSION"); v != "$LATEST" {
				e.qualifier = v
			}
		}
	}
	if e.function == "" {
		return nil, ErrNoFunction
	}
	if e.logger == nil {
		e.logger = slog.New(slog.DiscardHandler)
	}
	return e, nil
}

// Function is the function the executor invokes.
func (e *Executor) Function() string { return e.function }

// Qualifier is the version or alias the executor invokes ("" for none).
func (e *Executor) Qualifier() string { return e.qualifier }

// FromEnv returns, inside Lambda (AWS_LAMBDA_RUNTIME_API is set, as
// mcplambda.Start decides), an executor invoking the running function
// with a client from the default AWS configuration (the function's role;
// AWS_ENDPOINT_URL_LAMBDA reaches another Invoke API, such as `mcplambda
// dev`'s). Outside Lambda it returns nil, which tasks.Options.Executor
// takes as goroutines of the process.
func FromEnv(ctx context.Context, opts *Options) (tasks.Executor, error) {
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") == "" {
		return nil, nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("lambdaexec: loading the AWS configuration: %w", err)
	}
	return New(lambda.NewFromConfig(cfg), opts)
}

// Start implements [tasks.Executor]: one asynchronous invocation of the
// function with the payload {"mcplambda/taskRun": r}. Lambda queues it
// and answers 202 at once.
func (e *Executor) Start(ctx context.Context, r tasks.Run) error {
	payload, err := json.Marshal(map[string]tasks.Run{tasks.RunEvent: r})
	if err != nil {
		return err
	}
	in := &lambda.InvokeInput{
		FunctionName:   aws.String(e.function),
		InvocationType: types.InvocationTypeEvent,
		Payload:        payload,
	}
	if e.qualifier != "" {
		in.Qualifier = aws.String(e.qualifier)
	}
	out, err := e.client.Invoke(ctx, in)
	if err != nil {
		return fmt.Errorf("lambdaexec: invoking %s for task %s: %w", e.function, r.TaskID, err)
	}
	if out.StatusCode != 202 {
		return fmt.Errorf("lambdaexec: invoking %s for task %s: status %d, want 202", e.function, r.TaskID, out.StatusCode)
	}
	e.logger.DebugContext(ctx, "lambdaexec: run handed to Lambda", "task", r.TaskID, "function", e.function, "qualifier", e.qualifier)
	return nil
}
