package conformancetest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseBaseline(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    []Expected
		wantErr bool
	}{
		{
			name: "entries and comments",
			text: `# comment

2025-11-25  tools-call-sampling:tools-call-sampling   stateless: no session
2026-07-28  tasks-lifecycle   no tasks   extension
`,
			want: []Expected{
				{Run: "2025-11-25", Scenario: "tools-call-sampling", Check: "tools-call-sampling", Reason: "stateless: no session"},
				{Run: "2026-07-28", Scenario: "tasks-lifecycle", Reason: "no tasks extension"},
			},
		},
		{name: "empty", text: "\n# nothing\n"},
		{name: "no reason", text: "2026-07-28 caching\n", wantErr: true},
		{name: "duplicate", text: "r s a\nr s b\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseBaseline(tt.text)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseBaseline(%q) error = %v, want error %v", tt.text, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseBaseline(%q) mismatch (-want +got):\n%s", tt.text, diff)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	fail := func(scenario, check string) Result {
		return Result{Run: "r", Scenario: scenario, Check: check, Status: StatusFailure}
	}
	pass := func(scenario, check string) Result {
		return Result{Run: "r", Scenario: scenario, Check: check, Status: StatusSuccess}
	}
	byCheck := Expected{Run: "r", Scenario: "a", Check: "c1", Reason: "x"}
	byScenario := Expected{Run: "r", Scenario: "a", Reason: "x"}
	otherRun := Expected{Run: "q", Scenario: "a", Check: "c1", Reason: "x"}
	tests := []struct {
		name           string
		results        []Result
		baseline       []Expected
		wantUnexpected []Result
		wantStale      []Expected
	}{
		{
			name:    "all pass, empty baseline",
			results: []Result{pass("a", "c1"), pass("b", "c1")},
		},
		{
			name:     "expected check failure",
			results:  []Result{fail("a", "c1"), pass("a", "c2")},
			baseline: []Expected{byCheck},
		},
		{
			name:           "another check of a baselined scenario fails",
			results:        []Result{fail("a", "c1"), fail("a", "c2")},
			baseline:       []Expected{byCheck},
			wantUnexpected: []Result{fail("a", "c2")},
		},
		{
			name:     "scenario-wide entry covers every check",
			results:  []Result{fail("a", "c1"), fail("a", "c2")},
			baseline: []Expected{byScenario},
		},
		{
			name:           "repeated check id reported once",
			results:        []Result{fail("b", "w"), fail("b", "w")},
			wantUnexpected: []Result{fail("b", "w")},
		},
		{
			name:      "fixed check is stale",
			results:   []Result{pass("a", "c1")},
			baseline:  []Expected{byCheck, byScenario},
			wantStale: []Expected{byCheck, byScenario},
		},
		{
			name:           "entries are per run",
			results:        []Result{fail("a", "c1")},
			baseline:       []Expected{otherRun},
			wantUnexpected: []Result{fail("a", "c1")},
			wantStale:      []Expected{otherRun},
		},
		{
			name:      "scenario not run is stale",
			baseline:  []Expected{byScenario},
			wantStale: []Expected{byScenario},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			unexpected, stale := Compare(tt.results, tt.baseline)
			if diff := cmp.Diff(tt.wantUnexpected, unexpected); diff != "" {
				t.Errorf("Compare unexpected mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantStale, stale); diff != "" {
				t.Errorf("Compare stale mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReadResults reads output trimmed from real runs of the suite
// (testdata/run: scenario directories and the summary the suite printed).
func TestReadResults(t *testing.T) {
	stdout, err := os.ReadFile(filepath.Join("testdata", "run", "stdout.txt"))
	if err != nil {
		t.Fatal(err)
	}
	notScored := parseNotScored(stdout)
	if diff := cmp.Diff(map[string]string{
		"tasks-lifecycle":                      "extension",
		"json-schema-2020-12":                  "pending",
		"http-header-validation":               "pending",
		"http-custom-header-server-validation": "pending",
	}, notScored); diff != "" {
		t.Errorf("parseNotScored mismatch (-want +got):\n%s", diff)
	}
	got, err := ReadResults(filepath.Join("testdata", "run"), "2026-07-28", notScored)
	if err != nil {
		t.Fatal(err)
	}
	want := []Result{
		{Run: "2026-07-28", Scenario: "caching", Check: "sep-2549-tools-list-caching-hints", Status: StatusSuccess},
		{Run: "2026-07-28", Scenario: "caching", Check: "wire-schema-valid", Status: StatusSuccess},
		{Run: "2026-07-28", Scenario: "server-session-lifecycle", Check: "server-session-lifecycle-skipped", Status: "INFO",
			Message: "Server did not return an MCP-Session-Id header; session lifecycle does not apply."},
		{Run: "2026-07-28", Scenario: "tasks-lifecycle", Check: "tasks-sync-tool-call", Status: StatusFailure,
			Message: `unknown tool "greet"`, NotScored: "extension"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReadResults mismatch (-want +got):\n%s", diff)
	}
}

func TestComplete(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"server-caching-2026-11-21T20-19-19-916Z", "server-server-session-lifecycle-2026-11-21T20-19-33-563Z"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		out     string
		wantErr bool
	}{
		{name: "all scenarios have results", out: "=== SUMMARY ===\n✓ caching: 8 passed, 0 failed\n✓ server-session-lifecycle: 0 passed, 0 failed\n"},
		{name: "scenario without results", out: "✓ caching: 8 passed, 0 failed\n✗ ping: 1 passed, 1 failed\n✓ server-session-lifecycle: 0 passed, 0 failed\n", wantErr: true},
		{name: "results not in summary", out: "✓ caching: 8 passed, 0 failed\n", wantErr: true},
		{name: "no summary", out: "Error: connect ECONNREFUSED\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := complete(dir, []byte(tt.out)); (err != nil) != tt.wantErr {
				t.Errorf("complete(%q) = %v, want error %v", tt.out, err, tt.wantErr)
			}
		})
	}
}
