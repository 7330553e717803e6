// Package reports holds the rules of citizens' reports: anyone, without an
// account, may report a sensor missing from the register, report wrong
// information on an entry, or ask a question; each report gets a public
// number and a public status; administrators answer it from their pages.
//
// # What is public
//
// A report is followed by its number (2026-000042: the year of filing and
// a sequence within the year) at /reports/{number}. The public sees the
// kind, the sensor concerned, the dates, the status (received, in
// progress, answered, closed), the public answer, and the history of
// statuses with the role that made each step and its public note — never
// a name. The sender's message, e-mail address and location text are
// never published: a message may hold personal data, and numbers are
// sequential, so anyone can open any report's page. Only administrators
// read them (/admin/reports).
//
// # Rules
//
// [Clean] checks and normalizes a submission, returning every problem at
// once as [Problems] (a field and a code each, which package web words in
// the request's language):
//
//   - kind is one of registryapi.ReportKinds;
//   - a missing sensor needs a location: words (at most [MaxLocation]
//     characters) or a WGS84 point (lat and lon together), and names no
//     sensor (it has no id yet);
//   - wrong information needs the id of the entry concerned; a question
//     may name one; the caller checks that the entry is published;
//   - the message is required, [MinMessage] to [MaxMessage] characters;
//   - the e-mail address is optional and, when given, a plain address
//     (no display name) of at most [MaxEmail] characters with a dot in its
//     domain;
//   - lang is "fr" (default) or "en".
//
// Text is trimmed, line ends become "\n", and control characters other
// than line feeds and tabs are refused. HTML is kept as typed: pages
// escape it.
//
// [Apply] is an administrator's change: a status among in_progress,
// answered and closed (received is only the first one), a public answer
// (at most [MaxAnswer] characters; "answered" needs one), and a public
// note for the history (at most [MaxNote]). Each change appends an
// [Event]; a change that changes nothing appends nothing.
//
// # Abuse
//
// The HTTP layer limits filings per client address and drops, silently,
// the filings of the public form whose honeypot field (a visually hidden
// field labelled "leave empty") is filled: such a sender gets the usual
// thank-you page, with a number that is not stored. This package has no
// I/O; package store keeps reports and their events.
package reports

import (
	"errors"
	"fmt"
	"math"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/registryapi"
)

// Limits of a report, in characters.
const (
	MinMessage  = 5
	MaxMessage  = 4000
	MaxLocation = 300
	MaxEmail    = 254
	MaxAnswer   = 4000
	MaxNote     = 1000
)

// RolePublic is the role of the history's first step: the filing, by
// someone of the public.
const RolePublic = "public"

// Codes of problems; package web words them as "err.report.<code>".
const (
	CodeRequired     = "required"      // the field is required
	CodeTooShort     = "too_short"     // Args: the minimum length
	CodeTooLong      = "too_long"      // Args: the maximum length
	CodeText         = "text"          // not valid text (control characters, not UTF-8)
	CodeKind         = "kind"          // not a kind of report
	CodeLang         = "lang"          // not fr or en
	CodeEmail        = "email"         // not an e-mail address
	CodePosition     = "position"      // not a WGS84 point, or lat without lon
	CodeWhere        = "where"         // a missing sensor without location
	CodeSensor       = "sensor"        // not a sensor id, or no published entry has it
	CodeSensorNeeded = "sensor_needed" // wrong information names no entry
	CodeNoSensor     = "no_sensor"     // a missing sensor names an entry
	CodeStatus       = "status"        // not a status an administrator may set
	CodeAnswerNeeded = "answer_needed" // "answered" without a public answer
)

// Problem is one problem with one field of a submission or an update.
type Problem struct {
	Field string // the JSON (and form) field name
	Code  string // one of the Code… constants
	Args  []any  // the code's arguments, e.g. a length
}

// Problems is every problem found; it is the error of Clean and Apply.
type Problems []Problem

func (p Problems) Error() string {
	var b strings.Builder
	b.WriteString("invalid report:")
	for i, x := range p {
		if i > 0 {
			b.WriteString(";")
		}
		fmt.Fprintf(&b, " %s: %s", x.Field, x.Code)
	}
	return b.String()
}

func (p *Problems) add(field, code string, args ...any) {
	*p = append(*p, Problem{Field: field, Code: code, Args: args})
}

// Report is a report as the store keeps it.
type Report struct {
	ID       int64
	Number   string
	Kind     string
	SensorID string
	Location string
	Lat, Lon *float64
	Message  string
	// SenderEmail is private: it is shown to administrators only.
	SenderEmail  string
	Lang         string
	Status       string
	PublicAnswer string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Events       []Event // oldest first
}

// Event is one step of a report's history.
type Event struct {
	At        time.Time
	Status    string // the status after the step
	ActorRole string // RolePublic or a staff role; public
	Actor     string // the account or token; never public
	Note      string // public
}

var numberRE = regexp.MustCompile(`^([0-9]{4})-([0-9]{6,9})$`)

// Number formats the public number of the seq-th report of year.
func Number(year, seq int) string { return fmt.Sprintf("%04d-%06d", year, seq) }

// ParseNumber reads a public number.
func ParseNumber(s string) (year, seq int, ok bool) {
	m := numberRE.FindStringSubmatch(s)
	if m == nil {
		return 0, 0, false
	}
	year, _ = strconv.Atoi(m[1])
	seq, err := strconv.Atoi(m[2])
	return year, seq, err == nil && seq > 0
}

// ValidKind reports whether k is one of registryapi.ReportKinds.
func ValidKind(k string) bool { return slices.Contains(registryapi.ReportKinds, k) }

// ValidStatus reports whether s is one of registryapi.ReportStatuses.
func ValidStatus(s string) bool { return slices.Contains(registryapi.ReportStatuses, s) }

// cleanText normalizes a free text: line ends become "\n", surrounding
// space goes; it reports false for text that is not UTF-8 or holds control
// characters other than "\n" and "\t" (or any line end when !multiline).
func cleanText(s string, multiline bool) (string, bool) {
	if !utf8.ValidString(s) {
		return "", false
	}
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	s = strings.TrimSpace(s)
	ok := !strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) && !(r == '\t' || (multiline && r == '\n'))
	})
	return s, ok
}

// text checks a free text field into *dst: required (min > 0), at most
// max characters.
func (p *Problems) text(field string, dst *string, multiline bool, min, max int) {
	s, ok := cleanText(*dst, multiline)
	n := utf8.RuneCountInString(s)
	switch {
	case !ok:
		p.add(field, CodeText)
	case n == 0 && min > 0:
		p.add(field, CodeRequired)
	case n > max:
		p.add(field, CodeTooLong, max)
	case n > 0 && n < min:
		p.add(field, CodeTooShort, min)
	}
	*dst = s
}

// Clean checks a submission and returns it normalized, or every problem as
// Problems. It does not check that SensorID is published: the caller does.
func Clean(n registryapi.NewReport) (registryapi.NewReport, error) {
	var p Problems
	n.Kind = strings.TrimSpace(n.Kind)
	if !ValidKind(n.Kind) {
		p.add("kind", CodeKind)
	}
	n.SensorID = strings.TrimSpace(n.SensorID)
	switch {
	case n.SensorID != "" && n.Kind == registryapi.ReportMissingSensor:
		p.add("sensor_id", CodeNoSensor)
	case n.SensorID != "" && !catalog.ValidSensorID(n.SensorID):
		p.add("sensor_id", CodeSensor)
	case n.SensorID == "" && n.Kind == registryapi.ReportWrongInformation:
		p.add("sensor_id", CodeSensorNeeded)
	}
	p.text("location", &n.Location, false, 0, MaxLocation)
	switch {
	case (n.Lat == nil) != (n.Lon == nil):
		p.add("lat", CodePosition)
	case n.Lat != nil && !validPoint(*n.Lat, *n.Lon):
		p.add("lat", CodePosition)
	}
	if n.Kind == registryapi.ReportMissingSensor && n.Location == "" && n.Lat == nil {
		p.add("location", CodeWhere)
	}
	p.text("message", &n.Message, true, MinMessage, MaxMessage)
	n.Email = strings.TrimSpace(n.Email)
	if n.Email != "" && !validEmail(n.Email) {
		p.add("email", CodeEmail)
	}
	switch n.Lang {
	case "":
		n.Lang = "fr"
	case "fr", "en":
	default:
		p.add("lang", CodeLang)
	}
	if len(p) > 0 {
		return n, p
	}
	return n, nil
}

func validPoint(lat, lon float64) bool {
	return !math.IsNaN(lat) && !math.IsNaN(lon) && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180
}

func validEmail(s string) bool {
	if len(s) > MaxEmail {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	_, domain, _ := strings.Cut(s, "@")
	return strings.Contains(strings.Trim(domain, "."), ".")
}

// New makes the report of a cleaned submission, filed at the time at, as
// number: status received, with the filing as its first event.
func New(n registryapi.NewReport, number string, at time.Time) Report {
	at = at.UTC()
	return Report{
		Number:      number,
		Kind:        n.Kind,
		SensorID:    n.SensorID,
		Location:    n.Location,
		Lat:         n.Lat,
		Lon:         n.Lon,
		Message:     n.Message,
		SenderEmail: n.Email,
		Lang:        n.Lang,
		Status:      registryapi.ReportReceived,
		CreatedAt:   at,
		UpdatedAt:   at,
		Events:      []Event{{At: at, Status: registryapi.ReportReceived, ActorRole: RolePublic}},
	}
}

// ErrUnchanged is the error of Apply when the update changes nothing.
var ErrUnchanged = errors.New("the update changes nothing")

// Apply returns r changed by u, made by a principal of role role (public)
// and actor actor (private) at the time at, with the event that records
// it. It returns Problems for a bad update, and ErrUnchanged when u
// changes nothing and carries no note.
func Apply(r Report, u registryapi.ReportUpdate, role, actor string, at time.Time) (Report, Event, error) {
	var p Problems
	status := r.Status
	if s := strings.TrimSpace(u.Status); s != "" {
		if !ValidStatus(s) || s == registryapi.ReportReceived {
			p.add("status", CodeStatus)
		}
		status = s
	}
	answer := r.PublicAnswer
	if u.PublicAnswer != nil {
		answer = *u.PublicAnswer
		p.text("public_answer", &answer, true, 0, MaxAnswer)
	}
	note := u.Note
	p.text("note", &note, true, 0, MaxNote)
	if status == registryapi.ReportAnswered && answer == "" {
		p.add("public_answer", CodeAnswerNeeded)
	}
	if len(p) > 0 {
		return r, Event{}, p
	}
	if status == r.Status && answer == r.PublicAnswer && note == "" {
		return r, Event{}, ErrUnchanged
	}
	at = at.UTC()
	ev := Event{At: at, Status: status, ActorRole: role, Actor: actor, Note: note}
	r.Status, r.PublicAnswer, r.UpdatedAt = status, answer, at
	r.Events = append(slices.Clip(r.Events), ev)
	return r, ev, nil
}

// Public returns what the public sees of r, whose page is at url.
func (r Report) Public(url string) registryapi.Report {
	out := registryapi.Report{
		Number:       r.Number,
		Kind:         r.Kind,
		SensorID:     r.SensorID,
		Status:       r.Status,
		PublicAnswer: r.PublicAnswer,
		CreatedAt:    r.CreatedAt,
		UpdatedAt:    r.UpdatedAt,
		History:      []registryapi.ReportEvent{},
		URL:          url,
	}
	for _, e := range r.Events {
		out.History = append(out.History, registryapi.ReportEvent{At: e.At, Status: e.Status, Role: e.ActorRole, Note: e.Note})
	}
	return out
}

// Staff returns what administrators see of r, whose public page is at url.
func (r Report) Staff(url string) registryapi.StaffReport {
	out := registryapi.StaffReport{
		Number:       r.Number,
		Kind:         r.Kind,
		SensorID:     r.SensorID,
		Status:       r.Status,
		PublicAnswer: r.PublicAnswer,
		CreatedAt:    r.CreatedAt,
		UpdatedAt:    r.UpdatedAt,
		URL:          url,
		Location:     r.Location,
		Lat:          r.Lat,
		Lon:          r.Lon,
		Message:      r.Message,
		SenderEmail:  r.SenderEmail,
		Lang:         r.Lang,
		History:      []registryapi.StaffReportEvent{},
	}
	for _, e := range r.Events {
		out.History = append(out.History, registryapi.StaffReportEvent{At: e.At, Status: e.Status, Role: e.ActorRole, Actor: e.Actor, Note: e.Note})
	}
	return out
}
