package cdk

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/google/go-cmp/cmp"
)

// TestTasks checks what ServerProps.Tasks adds: a table for the tasks
// (the default one when Table is nil), the longest timeout, and the right
// to invoke this function (and its versions) and nothing else, in a
// policy of its own that the function does not depend on (no cycle).
func TestTasks(t *testing.T) {
	for _, tt := range []struct {
		name    string
		props   ServerProps
		timeout float64
	}{
		{name: "defaults", props: ServerProps{Tasks: true}, timeout: MaxTimeout.Seconds()},
		{name: "own timeout and table", props: ServerProps{Tasks: true, Timeout: 5 * time.Minute, Table: &TableProps{TTLAttribute: "ttl"}}, timeout: 300},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := synthesize(t, func(stack awscdk.Stack) {
				props := tt.props
				props.Zip = timeZip
				NewServer(stack, "Jobs", &props)
			})
			table := s.one(t, "AWS::DynamoDB::Table")
			fn := s.one(t, "AWS::Lambda::Function")
			s.has(t, "AWS::Lambda::Function", map[string]any{
				"Timeout":     tt.timeout,
				"Environment": map[string]any{"Variables": map[string]any{"MCPLAMBDA_TABLE": ref(table.ID)}},
			})
			var invoke []statement
			for _, st := range statements(s) {
				if slices.Contains(st.actions, "lambda:InvokeFunction") {
					invoke = append(invoke, st)
				}
			}
			arn := fmt.Sprintf(`{"Fn::GetAtt":[%q,"Arn"]}`, fn.ID)
			want := []statement{{effect: "Allow", actions: []string{"lambda:InvokeFunction"}, resources: []string{arn, `{"Fn::Join":["",[` + arn + `,":*"]]}`}}}
			if diff := cmp.Diff(want, invoke, cmp.AllowUnexported(statement{})); diff != "" {
				t.Errorf("lambda:InvokeFunction statements (-want +got):\n%s", diff)
			}
			// The policy is attached to the function's role, and the
			// function does not wait for it.
			role := s.one(t, "AWS::IAM::Role")
			for _, p := range s.resources("AWS::IAM::Policy") {
				if !slices.Contains(policyActions(p), "lambda:InvokeFunction") {
					continue
				}
				if diff := cmp.Diff([]any{ref(role.ID)}, p.Properties["Roles"]); diff != "" {
					t.Errorf("self-invoke policy roles (-want +got):\n%s", diff)
				}
				deps, _ := s.json["Resources"].(map[string]any)[fn.ID].(map[string]any)["DependsOn"].([]any)
				if slices.Contains(deps, any(p.ID)) {
					t.Errorf("the function depends on its self-invoke policy %s: a cycle", p.ID)
				}
			}
			checkLeastPrivilege(t, s)
		})
	}

	// Without Tasks, the function may not invoke anything.
	s := synthesize(t, func(stack awscdk.Stack) {
		NewServer(stack, "Time", &ServerProps{Zip: timeZip, Table: &TableProps{}})
	})
	for _, st := range statements(s) {
		if slices.Contains(st.actions, "lambda:InvokeFunction") {
			t.Errorf("without Tasks: statement %v", st)
		}
	}
	s.has(t, "AWS::Lambda::Function", map[string]any{"Timeout": DefaultTimeout.Seconds()})
}

// policyActions are the actions of an AWS::IAM::Policy's statements.
func policyActions(p resource) []string {
	var actions []string
	for _, st := range p.Properties["PolicyDocument"].(map[string]any)["Statement"].([]any) {
		switch a := st.(map[string]any)["Action"].(type) {
		case string:
			actions = append(actions, a)
		case []any:
			for _, x := range a {
				actions = append(actions, x.(string))
			}
		}
	}
	return actions
}
