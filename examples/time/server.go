package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// isoLayout is ISO 8601 with seconds and a numeric UTC offset, as the
// reference server prints it (Python's isoformat(timespec="seconds")):
// "+00:00" rather than RFC 3339's "Z" for UTC.
const isoLayout = "2006-01-02T15:04:05-07:00"

// getCurrentTimeInput is the input of the get_current_time tool.
type getCurrentTimeInput struct {
	Timezone string `json:"timezone" jsonschema:"IANA timezone name, e.g. 'America/New_York', 'Europe/London'. Use the local timezone named in the tool description if the user gave none."`
}

// convertTimeInput is the input of the convert_time tool.
type convertTimeInput struct {
	SourceTimezone string `json:"source_timezone" jsonschema:"Source IANA timezone name, e.g. 'America/New_York', 'Europe/London'. Use the local timezone named in the tool description if the user gave none."`
	Time           string `json:"time" jsonschema:"Time to convert in 24-hour format (HH:MM), e.g. '14:30'"`
	TargetTimezone string `json:"target_timezone" jsonschema:"Target IANA timezone name, e.g. 'Asia/Tokyo', 'America/Los_Angeles'. Use the local timezone named in the tool description if the user gave none."`
}

// timeResult is a moment in one timezone: the output of get_current_time,
// and each side of a convert_time result.
type timeResult struct {
	Timezone  string `json:"timezone" jsonschema:"IANA timezone name"`
	Datetime  string `json:"datetime" jsonschema:"date and time in ISO 8601 with the UTC offset, e.g. '2026-07-28T14:30:00+02:00'"`
	DayOfWeek string `json:"day_of_week" jsonschema:"English name of the weekday, e.g. 'Tuesday'"`
	IsDST     bool   `json:"is_dst" jsonschema:"whether daylight saving time is in effect"`
}

// convertTimeResult is the output of convert_time.
type convertTimeResult struct {
	Source         timeResult `json:"source"`
	Target         timeResult `json:"target"`
	TimeDifference string     `json:"time_difference" jsonschema:"target UTC offset minus source UTC offset in hours, e.g. '+5.5h', '-4.0h'"`
}

// timeTools holds what the tools depend on. Its methods are safe for
// concurrent use.
type timeTools struct {
	now   func() time.Time // the clock
	local string           // IANA name of the local timezone, for descriptions and hints
}

// newServer returns the time MCP server: the tools get_current_time and
// convert_time, reading the clock through now. local is the IANA name of the
// timezone that tool descriptions tell the model to assume when the user
// names none ("UTC" if empty); it must be a valid name.
func newServer(now func() time.Time, local string) *mcp.Server {
	if local == "" {
		local = "UTC"
	}
	if _, err := loadZone(local); err != nil {
		panic("time: newServer: local timezone: " + err.Error())
	}
	t := &timeTools{now: now, local: local}
	server := mcp.NewServer(&mcp.Implementation{
		Name:    "mcp-time",
		Title:   "Time",
		Version: "1.0.0",
	}, &mcp.ServerOptions{
		Instructions: "Current time and timezone conversion with IANA timezone names. The user's local timezone is " + local + ".",
	})
	readOnly := &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: new(false)}
	mcp.AddTool(server, &mcp.Tool{
		Name:        "get_current_time",
		Title:       "Get current time",
		Description: "Get the current time in an IANA timezone. If the user names no timezone, use the local timezone '" + local + "'.",
		Annotations: readOnly,
	}, t.getCurrentTime)
	mcp.AddTool(server, &mcp.Tool{
		Name:  "convert_time",
		Title: "Convert time between timezones",
		Description: "Convert a 24-hour time (HH:MM) on today's date in the source timezone to the target timezone. " +
			"If the user names no source or target timezone, use the local timezone '" + local + "'.",
		Annotations: readOnly,
	}, t.convertTime)
	return server
}

func (t *timeTools) getCurrentTime(ctx context.Context, req *mcp.CallToolRequest, in getCurrentTimeInput) (*mcp.CallToolResult, timeResult, error) {
	loc, err := t.zone("timezone", in.Timezone)
	if err != nil {
		return nil, timeResult{}, err
	}
	return nil, result(t.now().In(loc), in.Timezone), nil
}

func (t *timeTools) convertTime(ctx context.Context, req *mcp.CallToolRequest, in convertTimeInput) (*mcp.CallToolResult, convertTimeResult, error) {
	src, err := t.zone("source_timezone", in.SourceTimezone)
	if err != nil {
		return nil, convertTimeResult{}, err
	}
	dst, err := t.zone("target_timezone", in.TargetTimezone)
	if err != nil {
		return nil, convertTimeResult{}, err
	}
	clock, err := time.Parse("15:04", in.Time)
	if err != nil {
		return nil, convertTimeResult{}, fmt.Errorf("invalid time %q: want 24-hour HH:MM, such as \"09:30\" or \"21:15\"", in.Time)
	}
	today := t.now().In(src)
	at := time.Date(today.Year(), today.Month(), today.Day(), clock.Hour(), clock.Minute(), 0, 0, src)
	if at.Hour() != clock.Hour() || at.Minute() != clock.Minute() {
		return nil, convertTimeResult{}, fmt.Errorf("time %q does not exist in %s on %s: the clocks skip it for daylight saving time",
			in.Time, in.SourceTimezone, today.Format(time.DateOnly))
	}
	// For a time that occurs twice (clocks turned back) time.Date picks
	// the first occurrence, as the reference server does.
	target := at.In(dst)
	_, srcOffset := at.Zone()
	_, dstOffset := target.Zone()
	return nil, convertTimeResult{
		Source:         result(at, in.SourceTimezone),
		Target:         result(target, in.TargetTimezone),
		TimeDifference: hoursDiff(dstOffset - srcOffset),
	}, nil
}

// zone loads the IANA timezone name given in the argument arg, with an error
// message that tells the caller what to send instead.
func (t *timeTools) zone(arg, name string) (*time.Location, error) {
	loc, err := loadZone(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (the user's local timezone is %q)", arg, err, t.local)
	}
	return loc, nil
}

// errEmptyZone reports an empty timezone argument.
var errEmptyZone = errors.New("empty timezone: want an IANA timezone name such as \"Europe/Paris\" or \"UTC\"")

// loadZone is time.LoadLocation restricted to IANA names: it refuses the
// empty string (which LoadLocation takes as UTC) and "Local" (the server's
// own zone, which the caller cannot know).
func loadZone(name string) (*time.Location, error) {
	if strings.TrimSpace(name) == "" {
		return nil, errEmptyZone
	}
	if name != "Local" {
		if loc, err := time.LoadLocation(name); err == nil {
			return loc, nil
		}
	}
	return nil, fmt.Errorf("unknown timezone %q: want an IANA timezone name such as \"America/New_York\", \"Asia/Kolkata\" or \"UTC\"", name)
}

// result describes t, whose location is the zone named name.
func result(t time.Time, name string) timeResult {
	return timeResult{
		Timezone:  name,
		Datetime:  t.Format(isoLayout),
		DayOfWeek: t.Weekday().String(),
		IsDST:     t.IsDST(),
	}
}

// hoursDiff formats an offset difference in seconds as the reference server
// does: whole hours with one decimal ("+5.0h", "-4.0h", "+0.0h"), others
// with up to two ("+5.5h", "+5.75h").
func hoursDiff(seconds int) string {
	h := float64(seconds) / 3600
	if seconds%3600 == 0 {
		return fmt.Sprintf("%+.1fh", h)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%+.2f", h), "0"), ".") + "h"
}
