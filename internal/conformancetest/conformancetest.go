// Package conformancetest runs the official MCP conformance suite's server
// scenarios against a running MCP endpoint and holds the results to a
// baseline of expected failures.
//
// The suite (npm @modelcontextprotocol/conformance, found through
// [testtools.Conformance]) runs once per [Run] in [Runs]: the 2026-07-28
// and 2025-11-25 requirement sets, each at its own wire, and the
// 2025-06-18 scenarios. Every failing check must be listed in the baseline
// file, and every baseline entry must still fail, so the baseline stays
// honest as the server improves. Quick start, in a test:
//
//	url := startMyServer(t) // e.g. "http://127.0.0.1:3001/mcp"
//	conformancetest.Check(t, url, "testdata/expected-failures.txt")
//
// A configuration that fails more (a server without sessions, say) adds a
// second baseline file to the first; an entry may appear in only one.
//
// A baseline file has one expected failure a line: the run name, the
// scenario with an optional ":check-id", and a reason, separated by
// spaces. Without a check id, any check of the scenario may fail. Blank
// lines and lines starting with # are ignored:
//
//	# run       scenario[:check]                       reason
//	2025-11-25  tools-call-sampling:tools-call-sampling  stateless: no session to carry the client's answer
//	2026-07-28  tasks-lifecycle                          go-sdk v1.8.0 has no tasks extension
package conformancetest

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda/internal/testtools"
)

// A Run is one invocation of the suite's server command.
type Run struct {
	// Name identifies the run in baselines and logs.
	Name string
	// Args selects the scenarios, after "server --url URL".
	Args []string
}

// Runs are the suite invocations [Check] makes. The legacy client of the
// suite always initializes at 2025-11-25, except where a scenario checks
// version negotiation itself, so the 2025-06-18 run mostly re-checks
// results against that version's schema. 2025-03-26 has no server scenario
// that applies to a stateless server.
var Runs = []Run{
	{Name: "2026-07-28", Args: []string{"--requirements", "2026-07-28"}},
	{Name: "2025-11-25", Args: []string{"--requirements", "2025-11-25"}},
	{Name: "2025-06-18", Args: []string{"--spec-version", "2025-06-18"}},
}

// Check statuses written by the suite. Only StatusFailure fails a scenario.
const (
	StatusSuccess = "SUCCESS"
	StatusFailure = "FAILURE"
	StatusWarning = "WARNING"
)

// A Result is the outcome of one check of one scenario. Check ids may
// repeat within a scenario; Result has one entry per occurrence.
type Result struct {
	Run      string
	Scenario string
	Check    string // check id
	Status   string // SUCCESS, FAILURE, WARNING, SKIPPED or INFO
	Message  string // errorMessage, for failures and warnings
	// NotScored is why the requirement set runs the scenario without
	// scoring it ("extension", "pending", "added-after-release"), or "".
	NotScored string
}

// Check runs every [Runs] entry against url, logs a summary per run, and
// reports through t every failing check that the baseline files do not
// expect and every baseline entry that no longer fails.
func Check(t testing.TB, url string, baselineFiles ...string) {
	t.Helper()
	var baseline []Expected
	seen := map[string]string{}
	for _, file := range baselineFiles {
		list, err := ReadBaseline(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range list {
			k := e.Run + " " + e.key()
			if other, ok := seen[k]; ok {
				t.Fatalf("conformancetest: %s is in both %s and %s", k, other, file)
			}
			seen[k] = file
		}
		baseline = append(baseline, list...)
	}
	baselineFile := strings.Join(baselineFiles, " or ")
	var results []Result
	for _, run := range Runs {
		rs := RunSuite(t, url, run)
		logSummary(t, run.Name, rs)
		results = append(results, rs...)
	}
	unexpected, stale := Compare(results, baseline)
	for _, r := range unexpected {
		t.Errorf("unexpected failure: %s %s:%s: %s", r.Run, r.Scenario, r.Check, r.Message)
	}
	for _, e := range stale {
		t.Errorf("expected failure no longer fails (remove it from %s): %s %s (%s)", baselineFile, e.Run, e.key(), e.Reason)
	}
}

// RunSuite runs the suite once against url and returns every check result.
// It skips or fails t (see [testtools]) when Node 22 or the suite is not
// installed, and fails t when the suite produces no results.
func RunSuite(t testing.TB, url string, run Run) []Result {
	t.Helper()
	node, suite := testtools.Node22(t), testtools.Conformance(t)
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append([]string{suite, "server", "--url", url, "--output-dir", out}, run.Args...)
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stdout
	start := time.Now()
	err := cmd.Run()
	t.Logf("conformance %s: ran in %v", run.Name, time.Since(start).Round(time.Millisecond))
	// The suite exits 1 when a check fails; that is judged against the
	// baseline. Anything else means it did not finish.
	var exitErr *exec.ExitError
	if err != nil && !(errors.As(err, &exitErr) && exitErr.ExitCode() == 1) {
		t.Fatalf("conformance %s: %v; output:\n%s", run.Name, err, stdout.String())
	}
	err = complete(out, stdout.Bytes())
	var results []Result
	if err == nil {
		results, err = ReadResults(out, run.Name, parseNotScored(stdout.Bytes()))
	}
	if err != nil {
		t.Fatalf("conformance %s: %v; output:\n%s", run.Name, err, stdout.String())
	}
	return results
}

// summaryLine matches a scenario line of the suite's summary.
var summaryLine = regexp.MustCompile(`^\S+ (\S+): \d+ passed, \d+ failed$`)

// complete checks that the suite wrote results for every scenario its
// summary names, and for no other: a scenario that wrote no results would
// otherwise pass unnoticed.
func complete(dir string, out []byte) error {
	var summary []string
	for line := range strings.Lines(string(out)) {
		if m := summaryLine.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			summary = append(summary, m[1])
		}
	}
	if len(summary) == 0 {
		return errors.New("conformancetest: no scenario summary in the suite's output")
	}
	got, err := scenarioDirs(dir)
	if err != nil {
		return err
	}
	slices.Sort(summary)
	if !slices.Equal(summary, slices.Sorted(maps.Keys(got))) {
		return fmt.Errorf("conformancetest: the suite summarised scenarios %v but wrote results for %v", summary, slices.Sorted(maps.Keys(got)))
	}
	return nil
}

// scenarioDirs maps the scenarios the suite wrote results for under dir to
// their directories, named server-<scenario>-<timestamp>.
func scenarioDirs(dir string) (map[string]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("conformancetest: %w", err)
	}
	m := map[string]string{}
	for _, e := range entries {
		if sm := resultDir.FindStringSubmatch(e.Name()); e.IsDir() && sm != nil {
			m[sm[1]] = filepath.Join(dir, e.Name())
		}
	}
	return m, nil
}

// ReadResults reads the checks.json files the suite wrote under dir, one
// directory per scenario named server-<scenario>-<timestamp>.
func ReadResults(dir, run string, notScored map[string]string) ([]Result, error) {
	dirs, err := scenarioDirs(dir)
	if err != nil {
		return nil, err
	}
	var results []Result
	for _, scenario := range slices.Sorted(maps.Keys(dirs)) {
		b, err := os.ReadFile(filepath.Join(dirs[scenario], "checks.json"))
		if err != nil {
			return nil, fmt.Errorf("conformancetest: scenario %s: %w", scenario, err)
		}
		var checks []struct {
			ID           string `json:"id"`
			Status       string `json:"status"`
			ErrorMessage string `json:"errorMessage"`
			Details      struct {
				Message string `json:"message"`
			} `json:"details"`
		}
		if err := json.Unmarshal(b, &checks); err != nil {
			return nil, fmt.Errorf("conformancetest: scenario %s: %w", scenario, err)
		}
		for _, c := range checks {
			results = append(results, Result{
				Run:       run,
				Scenario:  scenario,
				Check:     c.ID,
				Status:    c.Status,
				Message:   cmp.Or(c.ErrorMessage, c.Details.Message),
				NotScored: notScored[scenario],
			})
		}
	}
	return results, nil
}

// resultDir matches the suite's per-scenario result directories.
var resultDir = regexp.MustCompile(`^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$`)

// notScoredLine matches an entry of the suite's "Not scored for ..." list.
var notScoredLine = regexp.MustCompile(`^\s+\S+ (\S+) \((extension|pending|added-after-release)\)\s*$`)

// parseNotScored reads which scenarios the suite ran without scoring from
// its summary output.
func parseNotScored(out []byte) map[string]string {
	m := map[string]string{}
	in := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "Not scored for ") {
			in = true
			continue
		}
		if in {
			sm := notScoredLine.FindStringSubmatch(line)
			if sm == nil {
				in = false
				continue
			}
			m[sm[1]] = sm[2]
		}
	}
	return m
}

// An Expected is one baseline entry.
type Expected struct {
	Run      string
	Scenario string
	Check    string // empty: any check of the scenario
	Reason   string
}

func (e Expected) key() string {
	if e.Check == "" {
		return e.Scenario
	}
	return e.Scenario + ":" + e.Check
}

// ReadBaseline reads a baseline file (see the package documentation).
func ReadBaseline(file string) ([]Expected, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("conformancetest: %w", err)
	}
	return ParseBaseline(string(b))
}

// ParseBaseline parses the contents of a baseline file.
func ParseBaseline(text string) ([]Expected, error) {
	var list []Expected
	seen := map[string]bool{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			return nil, fmt.Errorf("conformancetest: baseline line %d: want run, scenario[:check] and a reason, got %q", i+1, line)
		}
		e := Expected{Run: f[0], Reason: strings.Join(f[2:], " ")}
		e.Scenario, e.Check, _ = strings.Cut(f[1], ":")
		k := e.Run + " " + e.key()
		if seen[k] {
			return nil, fmt.Errorf("conformancetest: baseline line %d: duplicate entry %s", i+1, k)
		}
		seen[k] = true
		list = append(list, e)
	}
	return list, nil
}

// Compare returns the failing results no baseline entry expects (one per
// distinct run, scenario and check id) and the baseline entries whose
// check, or for a scenario-wide entry any check, did not fail.
func Compare(results []Result, baseline []Expected) (unexpected []Result, stale []Expected) {
	failed := map[string]bool{} // "run scenario" and "run scenario:check"
	reported := map[string]bool{}
	for _, r := range results {
		if r.Status != StatusFailure {
			continue
		}
		failed[r.Run+" "+r.Scenario] = true
		k := r.Run + " " + r.Scenario + ":" + r.Check
		failed[k] = true
		if reported[k] || slices.ContainsFunc(baseline, func(e Expected) bool {
			return e.Run == r.Run && e.Scenario == r.Scenario && (e.Check == "" || e.Check == r.Check)
		}) {
			continue
		}
		reported[k] = true
		unexpected = append(unexpected, r)
	}
	for _, e := range baseline {
		if !failed[e.Run+" "+e.key()] {
			stale = append(stale, e)
		}
	}
	return unexpected, stale
}

// logSummary logs scenario and check counts for one run, scored and not
// scored separately, and every failing or warning check.
func logSummary(t testing.TB, run string, results []Result) {
	t.Helper()
	type counts struct{ scenarios, passedScenarios, checks, passedChecks, warnings int }
	var scored, notScored counts
	failed := map[string]bool{} // by scenario
	for _, r := range results {
		c := &scored
		if r.NotScored != "" {
			c = &notScored
		}
		if _, ok := failed[r.Scenario]; !ok {
			c.scenarios++
			failed[r.Scenario] = false
		}
		switch r.Status {
		case StatusSuccess:
			c.checks++
			c.passedChecks++
		case StatusFailure:
			c.checks++
			failed[r.Scenario] = true
		case StatusWarning:
			c.warnings++
		}
	}
	for _, r := range results {
		if f, ok := failed[r.Scenario]; ok {
			c := &scored
			if r.NotScored != "" {
				c = &notScored
			}
			if !f {
				c.passedScenarios++
			}
			delete(failed, r.Scenario)
		}
	}
	t.Logf("conformance %s: scored: %d/%d scenarios pass, %d/%d checks pass, %d warnings; not scored: %d/%d scenarios pass",
		run, scored.passedScenarios, scored.scenarios, scored.passedChecks, scored.checks, scored.warnings,
		notScored.passedScenarios, notScored.scenarios)
	// One line per scenario with failures or warnings.
	type detail struct {
		notScored string
		failed    []string // check ids
		warned    []string
		message   string // of the first failure
	}
	details := map[string]*detail{}
	var order []string
	for _, r := range results {
		if r.Status != StatusFailure && r.Status != StatusWarning {
			continue
		}
		d := details[r.Scenario]
		if d == nil {
			d = &detail{notScored: r.NotScored}
			details[r.Scenario] = d
			order = append(order, r.Scenario)
		}
		if r.Status == StatusWarning {
			d.warned = append(d.warned, r.Check)
			continue
		}
		if len(d.failed) == 0 {
			d.message = firstLine(r.Message)
		}
		d.failed = append(d.failed, r.Check)
	}
	for _, s := range order {
		d := details[s]
		line := "  " + s
		if d.notScored != "" {
			line += " (not scored: " + d.notScored + ")"
		}
		if len(d.failed) > 0 {
			line += fmt.Sprintf(": FAIL %s", strings.Join(d.failed, ", "))
			if len(d.failed) == 1 {
				line += ": " + d.message
			}
		}
		if len(d.warned) > 0 {
			line += fmt.Sprintf("; WARN %s", strings.Join(d.warned, ", "))
		}
		t.Log(line)
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
