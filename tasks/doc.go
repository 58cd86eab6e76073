// Package tasks serves the MCP Tasks extension (io.modelcontextprotocol/tasks,
// SEP-2663) in front of a go-sdk *mcp.Server, the Lambda way: a tool call
// that takes minutes becomes a task, kept in a state.Store (DynamoDB in
// Lambda), run in an invocation of its own, and polled by the client from
// any instance.
//
// # What a task is for
//
// A tool call normally holds its request open until the tool returns. On
// Lambda that is bounded by the front door (29 s behind API Gateway) and
// by the client's patience, and the invocation is billed while it waits.
// With the extension, a client that declares it (in its per-request
// capabilities) may get, instead of the result, a CreateTaskResult
// (resultType "task") naming a task; it then polls tasks/get until the
// task is completed (with the tool's result inline), failed (with the
// JSON-RPC error) or cancelled, answers input requests with tasks/update,
// and may cancel with tasks/cancel.
//
// # How a tool opts in
//
// Tools are added to the server as usual; [Manager.Enable] (or [AddTool])
// makes one a task tool:
//
//	m := tasks.New(server, store, &tasks.Options{Executor: exec})
//	tasks.AddTool(m, &mcp.Tool{Name: "build"}, build, &tasks.ToolOptions{Support: tasks.Required})
//	mcp.AddTool(server, &mcp.Tool{Name: "lint"}, lint)
//	m.Enable("lint", nil) // Optional: a task only for clients that declare the extension
//
// A [Required] tool always runs as a task, and a 2026-07-28 request that
// does not declare the extension gets error -32021; an [Optional] one runs
// at once for such requests. ToolOptions.RunNow lets a tool decide per
// call (for instance: ask for input at once with SEP-2322 input_required
// results, and become a task on the final round).
//
// The tool is an ordinary go-sdk tool handler: it runs with the caller's
// identity (package identity, as at creation, without claims) and a
// context that ends at the run's deadline or when the task is cancelled;
// its progress notifications (req.Session.NotifyProgress with the
// request's progress token) become the task's statusMessage, saved at
// most every Options.ProgressInterval. To ask for input it returns an
// input_required result (CallToolResult.InputRequests, and RequestState
// for its own state), exactly as for SEP-2322: the task becomes
// input_required, the client answers with tasks/update, and once every
// request is answered the tool runs again, in a new run, with the answers
// in InputResponses and its RequestState. [Continue] asks for a new run
// without input, to go on beyond one invocation's time limit.
//
// # Runs, and the 15-minute ceiling
//
// The invocation that creates a task writes it (one conditional write, so
// that tasks/get finds it at once) and hands a [Run] to the [Executor]:
// goroutines of the process when Options.Executor is nil (local serving,
// tests), or, in Lambda, package tasks/lambdaexec, which invokes the
// function itself asynchronously with a task-run payload that the
// function's handler routes to [Manager.HandleEvent]
// (mcplambda.Options.Events). The run claims the task with a conditional
// write that needs the run's secret token, which only the store holds, so
// that a caller allowed to invoke the function cannot forge a run; a run
// delivered twice runs once. While the tool runs, the run renews a lease
// on the task every third of Options.LeaseDuration and reads the task
// every poll interval, so that a cancellation made anywhere stops the
// tool within one; a run that dies (crash, kill, timeout) leaves a lease
// that lapses, and the next tasks/get fails the task with a message that
// says so. A task is never left working forever: an unclaimed run fails
// after Options.StartTimeout, a lost one when its lease lapses, and every
// task disappears at its TTL.
//
// One run is one Lambda invocation: it ends at the function's timeout, at
// most 15 minutes (the run cancels the tool's context a margin before, and
// fails the task saying so; a tool that ignores its context is left
// behind, and in Lambda goes on in the background of the instance's later
// invocations: honour it). Beyond that, split the work: return [Continue] with a
// checkpoint in RequestState before the deadline (ctx.Deadline tells the
// tool when), and the next run, in a new invocation, resumes from it; or
// start the work elsewhere (AWS Step Functions, AWS Batch, an ECS task)
// and let the tool poll it, continuing from run to run, until it is done.
// Keep Options.TTL (default one hour) longer than the whole.
//
// # Costs
//
// Creating a task costs one conditional write; tasks/get one strongly
// consistent read; a run one read and two writes (claim and outcome),
// plus one write per lease renewal (every 10 s by default) and per saved
// progress message (at most every 2 s), and one read per poll interval
// (2 s by default) while its tool runs; tasks/update and tasks/cancel one
// read and one write. In Lambda each run is one more invocation, billed
// for as long as its tool runs; a task waiting for input costs nothing.
//
// # Older clients
//
// 2025-11-25 clients get that version's experimental tasks (SEP-1686) on
// the same store and executor: [Required] tools are listed with
// execution.taskSupport "required" and answered with that version's
// CreateTaskResult; tasks/get, tasks/result (which waits, within the
// request's deadline) and tasks/cancel work; tasks/list answers -32601
// (tasks are kept by id: listing a principal's tasks would need an index,
// a second write per task). go-sdk drops the "task" parameter of their
// requests before any middleware sees it, so [Optional] tools run at once
// for them; and a task of theirs that asks for input fails, since they
// cannot answer with tasks/update. Clients of 2025-06-18 and earlier see
// no tasks, and a [Required] tool answers them -32601.
//
// # Security
//
// Task ids are 160 random bits. A task belongs to the principal that
// created it (identity.Principal): for anyone else, tasks/get answers as
// for an unknown id, and tasks/update and tasks/cancel change nothing.
// Anonymous tasks are readable by any anonymous caller that has the id.
package tasks
