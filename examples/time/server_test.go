package main

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Fixed clocks for the tool tests.
var (
	july    = clock("2026-07-28T12:00:00Z") // northern summer, a Tuesday
	january = clock("2026-01-15T12:00:00Z") // northern winter, a Thursday
)

func clock(rfc3339 string) func() time.Time {
	t, err := time.Parse(time.RFC3339, rfc3339)
	if err != nil {
		panic(err)
	}
	return func() time.Time { return t }
}

// call calls the tool name with args on a server built by newServer with the
// clock now, through a real go-sdk client over in-memory transports.
func call(t *testing.T, now func() time.Time, name string, args any) *mcp.CallToolResult {
	t.Helper()
	ctx := context.Background()
	server := newServer(now, "Europe/Warsaw")
	st, ct := mcp.NewInMemoryTransports()
	ss, err := server.Connect(ctx, st, nil)
	if err != nil {
		t.Fatalf("server.Connect: %v", err)
	}
	defer ss.Close()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "0"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatalf("client.Connect: %v", err)
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("CallTool(%s, %v) protocol error: %v (tool errors must be isError results)", name, args, err)
	}
	return res
}

// output decodes a successful result's structured content as an Out, and
// checks that the text content is the same JSON, for clients that read only
// text.
func output[Out any](t *testing.T, res *mcp.CallToolResult) (Out, bool) {
	t.Helper()
	var out Out
	if res.IsError {
		t.Errorf("result is an error: %s", text(res))
		return out, false
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatalf("marshal structured content: %v", err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("structured content %s: %v", b, err)
	}
	var fromText Out
	if err := json.Unmarshal([]byte(text(res)), &fromText); err != nil {
		t.Errorf("text content %q is not the output JSON: %v", text(res), err)
	} else if diff := cmp.Diff(out, fromText); diff != "" {
		t.Errorf("text content differs from structured content (-structured +text):\n%s", diff)
	}
	return out, true
}

// text returns the text of a result's single text content.
func text(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

func TestGetCurrentTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		now      func() time.Time
		timezone string
		want     timeResult
	}{
		{july, "UTC", timeResult{"UTC", "2026-07-28T12:00:00+00:00", "Tuesday", false}},
		{july, "America/New_York", timeResult{"America/New_York", "2026-07-28T08:00:00-04:00", "Tuesday", true}},
		{january, "America/New_York", timeResult{"America/New_York", "2026-01-15T07:00:00-05:00", "Thursday", false}},
		{july, "Europe/London", timeResult{"Europe/London", "2026-07-28T13:00:00+01:00", "Tuesday", true}},
		{january, "Europe/London", timeResult{"Europe/London", "2026-01-15T12:00:00+00:00", "Thursday", false}},
		// Southern hemisphere: daylight saving time in January.
		{july, "Australia/Sydney", timeResult{"Australia/Sydney", "2026-07-28T22:00:00+10:00", "Tuesday", false}},
		{january, "Australia/Sydney", timeResult{"Australia/Sydney", "2026-01-15T23:00:00+11:00", "Thursday", true}},
		// Half-hour daylight saving time.
		{july, "Australia/Lord_Howe", timeResult{"Australia/Lord_Howe", "2026-07-28T22:30:00+10:30", "Tuesday", false}},
		{january, "Australia/Lord_Howe", timeResult{"Australia/Lord_Howe", "2026-01-15T23:00:00+11:00", "Thursday", true}},
		// Half-hour and quarter-hour offsets.
		{july, "Asia/Kolkata", timeResult{"Asia/Kolkata", "2026-07-28T17:30:00+05:30", "Tuesday", false}},
		{july, "Asia/Kathmandu", timeResult{"Asia/Kathmandu", "2026-07-28T17:45:00+05:45", "Tuesday", false}},
		{july, "America/St_Johns", timeResult{"America/St_Johns", "2026-07-28T09:30:00-02:30", "Tuesday", true}},
		// Either side of the date line: a day apart.
		{july, "Pacific/Kiritimati", timeResult{"Pacific/Kiritimati", "2026-07-29T02:00:00+14:00", "Wednesday", false}},
		{july, "Pacific/Pago_Pago", timeResult{"Pacific/Pago_Pago", "2026-07-28T01:00:00-11:00", "Tuesday", false}},
	}
	for _, tt := range tests {
		res := call(t, tt.now, "get_current_time", map[string]any{"timezone": tt.timezone})
		got, ok := output[timeResult](t, res)
		if !ok {
			t.Errorf("get_current_time(%q) failed", tt.timezone)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("get_current_time(%q) at %v mismatch (-want +got):\n%s", tt.timezone, tt.now(), diff)
		}
	}
}

func TestConvertTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		now                  func() time.Time
		source, time, target string
		want                 convertTimeResult
	}{
		{july, "America/New_York", "16:30", "Asia/Tokyo", convertTimeResult{
			Source:         timeResult{"America/New_York", "2026-07-28T16:30:00-04:00", "Tuesday", true},
			Target:         timeResult{"Asia/Tokyo", "2026-07-29T05:30:00+09:00", "Wednesday", false},
			TimeDifference: "+13.0h",
		}},
		{january, "America/New_York", "16:30", "Asia/Tokyo", convertTimeResult{
			Source:         timeResult{"America/New_York", "2026-01-15T16:30:00-05:00", "Thursday", false},
			Target:         timeResult{"Asia/Tokyo", "2026-01-16T06:30:00+09:00", "Friday", false},
			TimeDifference: "+14.0h",
		}},
		{july, "Europe/London", "12:00", "Asia/Kolkata", convertTimeResult{
			Source:         timeResult{"Europe/London", "2026-07-28T12:00:00+01:00", "Tuesday", true},
			Target:         timeResult{"Asia/Kolkata", "2026-07-28T16:30:00+05:30", "Tuesday", false},
			TimeDifference: "+4.5h",
		}},
		{january, "Europe/London", "12:00", "Asia/Kolkata", convertTimeResult{
			Source:         timeResult{"Europe/London", "2026-01-15T12:00:00+00:00", "Thursday", false},
			Target:         timeResult{"Asia/Kolkata", "2026-01-15T17:30:00+05:30", "Thursday", false},
			TimeDifference: "+5.5h",
		}},
		{july, "UTC", "12:00", "Asia/Kathmandu", convertTimeResult{
			Source:         timeResult{"UTC", "2026-07-28T12:00:00+00:00", "Tuesday", false},
			Target:         timeResult{"Asia/Kathmandu", "2026-07-28T17:45:00+05:45", "Tuesday", false},
			TimeDifference: "+5.75h",
		}},
		{july, "Asia/Kolkata", "09:00", "America/New_York", convertTimeResult{
			Source:         timeResult{"Asia/Kolkata", "2026-07-28T09:00:00+05:30", "Tuesday", false},
			Target:         timeResult{"America/New_York", "2026-07-27T23:30:00-04:00", "Monday", true},
			TimeDifference: "-9.5h",
		}},
		// Across the date line: 25 hours apart, and "today" is the source's
		// date (already Wednesday in Kiritimati).
		{july, "Pacific/Kiritimati", "10:00", "Pacific/Pago_Pago", convertTimeResult{
			Source:         timeResult{"Pacific/Kiritimati", "2026-07-29T10:00:00+14:00", "Wednesday", false},
			Target:         timeResult{"Pacific/Pago_Pago", "2026-07-28T09:00:00-11:00", "Tuesday", false},
			TimeDifference: "-25.0h",
		}},
		{july, "Europe/Paris", "08:00", "Europe/Paris", convertTimeResult{
			Source:         timeResult{"Europe/Paris", "2026-07-28T08:00:00+02:00", "Tuesday", true},
			Target:         timeResult{"Europe/Paris", "2026-07-28T08:00:00+02:00", "Tuesday", true},
			TimeDifference: "+0.0h",
		}},
		// Midnight, and a one-digit hour.
		{july, "UTC", "00:00", "America/Los_Angeles", convertTimeResult{
			Source:         timeResult{"UTC", "2026-07-28T00:00:00+00:00", "Tuesday", false},
			Target:         timeResult{"America/Los_Angeles", "2026-07-27T17:00:00-07:00", "Monday", true},
			TimeDifference: "-7.0h",
		}},
		{july, "UTC", "7:05", "UTC", convertTimeResult{
			Source:         timeResult{"UTC", "2026-07-28T07:05:00+00:00", "Tuesday", false},
			Target:         timeResult{"UTC", "2026-07-28T07:05:00+00:00", "Tuesday", false},
			TimeDifference: "+0.0h",
		}},
		// The day the clocks go back in New York: 01:30 happens twice; the
		// first (daylight saving) one is taken.
		{clock("2026-11-01T12:00:00Z"), "America/New_York", "01:30", "UTC", convertTimeResult{
			Source:         timeResult{"America/New_York", "2026-11-01T01:30:00-04:00", "Sunday", true},
			Target:         timeResult{"UTC", "2026-11-01T05:30:00+00:00", "Sunday", false},
			TimeDifference: "+4.0h",
		}},
	}
	for _, tt := range tests {
		args := map[string]any{"source_timezone": tt.source, "time": tt.time, "target_timezone": tt.target}
		res := call(t, tt.now, "convert_time", args)
		got, ok := output[convertTimeResult](t, res)
		if !ok {
			t.Errorf("convert_time(%q, %q, %q) failed", tt.source, tt.time, tt.target)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("convert_time(%q, %q, %q) at %v mismatch (-want +got):\n%s", tt.source, tt.time, tt.target, tt.now(), diff)
		}
	}
}

// TestToolErrors checks that bad arguments give an isError result (not a
// protocol error) whose text names the problem.
func TestToolErrors(t *testing.T) {
	t.Parallel()
	convert := func(source, tm, target string) map[string]any {
		return map[string]any{"source_timezone": source, "time": tm, "target_timezone": target}
	}
	tests := []struct {
		now      func() time.Time
		tool     string
		args     any
		wantText []string // substrings of the error text
	}{
		{july, "get_current_time", map[string]any{"timezone": "Mars/Olympus_Mons"}, []string{`unknown timezone "Mars/Olympus_Mons"`, "IANA", `local timezone is "Europe/Warsaw"`}},
		{july, "get_current_time", map[string]any{"timezone": ""}, []string{"empty timezone", "IANA"}},
		{july, "get_current_time", map[string]any{"timezone": "  "}, []string{"empty timezone"}},
		{july, "get_current_time", map[string]any{"timezone": "Local"}, []string{`unknown timezone "Local"`}},
		{july, "get_current_time", map[string]any{"timezone": "../../../etc/passwd"}, []string{"unknown timezone"}},
		{july, "get_current_time", map[string]any{"timezone": "Europe/London "}, []string{"unknown timezone"}},
		// Rejected by go-sdk's schema validation, still as a tool error.
		{july, "get_current_time", map[string]any{}, []string{"timezone"}},
		{july, "get_current_time", map[string]any{"timezone": 5}, []string{"timezone"}},
		{july, "convert_time", convert("Mars/Base", "12:00", "UTC"), []string{`source_timezone: unknown timezone "Mars/Base"`}},
		{july, "convert_time", convert("UTC", "12:00", "Moon/Base"), []string{`target_timezone: unknown timezone "Moon/Base"`}},
		{july, "convert_time", convert("", "12:00", "UTC"), []string{"source_timezone: empty timezone"}},
		{july, "convert_time", convert("UTC", "12:00", ""), []string{"target_timezone: empty timezone"}},
		{july, "convert_time", convert("UTC", "25:00", "Asia/Tokyo"), []string{`invalid time "25:00"`, "HH:MM"}},
		{july, "convert_time", convert("UTC", "24:00", "Asia/Tokyo"), []string{`invalid time "24:00"`}},
		{july, "convert_time", convert("UTC", "12:60", "Asia/Tokyo"), []string{`invalid time "12:60"`}},
		{july, "convert_time", convert("UTC", "7pm", "Asia/Tokyo"), []string{`invalid time "7pm"`, "24-hour"}},
		{july, "convert_time", convert("UTC", "", "Asia/Tokyo"), []string{`invalid time ""`}},
		{july, "convert_time", convert("UTC", "12:00:00", "Asia/Tokyo"), []string{`invalid time "12:00:00"`}},
		{july, "convert_time", convert("UTC", "noon", "Asia/Tokyo"), []string{`invalid time "noon"`}},
		{july, "convert_time", map[string]any{"source_timezone": "UTC", "target_timezone": "UTC"}, []string{"time"}},
		// The day the clocks go forward in New York: 02:30 does not exist.
		{clock("2026-03-08T12:00:00Z"), "convert_time", convert("America/New_York", "02:30", "UTC"), []string{`"02:30" does not exist in America/New_York on 2026-03-08`}},
	}
	for _, tt := range tests {
		res := call(t, tt.now, tt.tool, tt.args)
		if !res.IsError {
			t.Errorf("%s(%v) = %s, want an isError result", tt.tool, tt.args, text(res))
			continue
		}
		got := text(res)
		for _, want := range tt.wantText {
			if !strings.Contains(got, want) {
				t.Errorf("%s(%v) error = %q, want it to contain %q", tt.tool, tt.args, got, want)
			}
		}
	}
}

func TestHoursDiff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		seconds int
		want    string
	}{
		{0, "+0.0h"},
		{5 * 3600, "+5.0h"},
		{-4 * 3600, "-4.0h"},
		{-25 * 3600, "-25.0h"},
		{5*3600 + 1800, "+5.5h"},
		{5*3600 + 2700, "+5.75h"},
		{-(9*3600 + 1800), "-9.5h"},
		{1800, "+0.5h"},
		{-2700, "-0.75h"},
	}
	for _, tt := range tests {
		if got := hoursDiff(tt.seconds); got != tt.want {
			t.Errorf("hoursDiff(%d) = %q, want %q", tt.seconds, got, tt.want)
		}
	}
}

func TestParseFlags(t *testing.T) {
	t.Setenv("LOCAL_TIMEZONE", "Asia/Kolkata")
	tests := []struct {
		args    []string
		want    string
		wantErr string
	}{
		{nil, "Asia/Kolkata", ""},
		{[]string{"-local-timezone", "America/Chicago"}, "America/Chicago", ""},
		{[]string{"--local-timezone=Asia/Kathmandu"}, "Asia/Kathmandu", ""},
		{[]string{"-local-timezone", "Nowhere/Land"}, "", `unknown timezone "Nowhere/Land"`},
		{[]string{"-local-timezone", ""}, "", "empty timezone"},
		{[]string{"serve"}, "", `unexpected argument "serve"`},
		{[]string{"-port", "80"}, "", "flag provided but not defined"},
	}
	for _, tt := range tests {
		got, err := parseFlags(tt.args, io.Discard)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseFlags(%q) error = %v, want one containing %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseFlags(%q) = %q, %v, want %q, nil", tt.args, got, err, tt.want)
		}
	}
}

func TestDefaultLocalZone(t *testing.T) {
	tests := []struct {
		localTimezone, tz string
		want              string
	}{
		{"Asia/Kolkata", "Europe/Paris", "Asia/Kolkata"},
		{"", "Europe/Paris", "Europe/Paris"},
		{"", ":UTC", "UTC"}, // as Lambda sets it
	}
	for _, tt := range tests {
		t.Setenv("LOCAL_TIMEZONE", tt.localTimezone)
		t.Setenv("TZ", tt.tz)
		if got := defaultLocalZone(); got != tt.want {
			t.Errorf("defaultLocalZone() with LOCAL_TIMEZONE=%q TZ=%q = %q, want %q", tt.localTimezone, tt.tz, got, tt.want)
		}
	}
}
