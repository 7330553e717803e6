package httpapi

// Citizens' reports (package reports): the public form and JSON, which
// need no account, and the administrators' pages and JSON.
//
// Filing a report is a write without authentication, by design: the
// routes POST /reports and POST /api/v1/reports are the public's (auth_test
// lists them in anonymousWrites). authenticate asks no CSRF token of a
// request without a session — there is no session to ride — but still
// refuses what a browser says comes from another site; a signed-in staff
// member filing a report sends the session's token, which the form
// carries. Abuse is bounded instead by:
//
//   - a limit per client address (an IPv6 address by its /64):
//     reportMaxPerClient filings per reportWindow, then 429 with
//     Retry-After; invalid filings, which store nothing, do not count;
//   - a honeypot on the form (web.HoneypotField): a filing that fills it is
//     answered as usual, with a number, and dropped;
//   - the size of the body (maxAuthBody) and of each field (package
//     reports).

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/reports"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/internal/web"
	"github.com/civisens/civisens/registry/registryapi"
)

// Limits of filings per client address.
const (
	reportMaxPerClient = 5
	reportWindow       = time.Hour
	reportMaxKeys      = 10000
)

// Reports is what the handler needs of the store for citizens' reports;
// *store.Store provides it.
type Reports interface {
	CreateReport(ctx context.Context, r reports.Report) (reports.Report, error)
	PeekReportNumber(ctx context.Context, at time.Time) (string, error)
	Report(ctx context.Context, number string) (reports.Report, error)
	ListReports(ctx context.Context, f store.ReportFilter) ([]reports.Report, error)
	CountReports(ctx context.Context) (map[string]int, error)
	UpdateReport(ctx context.Context, number string, change func(reports.Report) (reports.Report, reports.Event, error)) (reports.Report, error)
}

// errReportLimited is the error of a client that filed too many reports.
var errReportLimited = errors.New("too many reports from this client")

// reportsState is the handler's part for reports and the quality page.
type reportsState struct {
	store   Reports // nil: no reports
	seen    Seen    // nil: no quality page
	limiter *auth.Limiter
	now     func() time.Time
}

func newReportsState(d Deps) *reportsState {
	now := d.Now
	if now == nil {
		now = time.Now
	}
	s := &reportsState{store: d.Reports, seen: d.Seen, now: now,
		limiter: auth.NewLimiter(reportMaxPerClient, reportWindow, reportMaxKeys, now)}
	if s.store == nil {
		s.store, _ = d.Sensors.(Reports)
	}
	if s.seen == nil {
		s.seen, _ = d.Sensors.(Seen)
	}
	return s
}

// reportRoutes adds the routes of citizens' reports.
func (h *handler) reportRoutes(e *gin.Engine) {
	if h.reports.store == nil {
		return
	}
	// The public: no account.
	e.GET(web.NewReportPath, h.reportForm)
	e.POST(web.ReportsPath, h.reportFile)  // anonymous by design (see above)
	e.GET(web.ReportsPath, h.reportFollow) // ?number=…: find a report by its number (entry_pages.go)
	e.GET(web.ReportsPath+"/:number", h.reportPage)
	e.POST(registryapi.PathReports, h.apiReportFile) // anonymous by design (see above)
	e.GET(registryapi.PathReports+"/:number", h.apiReport)

	// Administrators.
	admin := h.require(auth.RoleAdministrator)
	e.GET(web.AdminReportsPath, admin, h.adminReportsPage)
	e.GET(web.AdminReportsPath+"/:number", admin, h.adminReportPage)
	e.POST(web.AdminReportsPath+"/:number", admin, h.adminReportAnswer)
	e.GET(registryapi.PathAdminReports, admin, h.apiAdminReports)
	e.GET(registryapi.PathAdminReports+"/:number", admin, h.apiAdminReport)
	e.POST(registryapi.PathAdminReports+"/:number", admin, h.apiAdminReportUpdate)
}

// reportProblems turns reports.Problems into catalogue messages.
func reportProblems(p reports.Problems) invalidFields {
	out := make(invalidFields, len(p))
	for i, x := range p {
		out[i] = web.FieldError{Field: x.Field, Key: "err.report." + x.Code, Args: x.Args}
	}
	return out
}

// asInvalid returns err's field problems, when it has some.
func asInvalid(err error) (invalidFields, bool) {
	var p reports.Problems
	if errors.As(err, &p) {
		return reportProblems(p), true
	}
	var f invalidFields
	if errors.As(err, &f) {
		return f, true
	}
	return nil, false
}

// fileReport files a report for the request's client: it checks the rate
// limit, the report and its entry, then stores it — or, when discard is
// set (the honeypot was filled), only answers as if it had. A refused
// report is errReportLimited (with the Retry-After header set) or
// invalidFields.
func (h *handler) fileReport(c *gin.Context, in registryapi.NewReport, discard bool) (reports.Report, error) {
	ctx := c.Request.Context()
	rs := h.reports
	client := auth.ClientKey(c.ClientIP())
	limited := func(wait time.Duration) (reports.Report, error) {
		secs := int((wait + time.Second - 1) / time.Second)
		c.Header("Retry-After", strconv.Itoa(secs))
		h.log.Warn("report refused: too many from this client", "client", client, "retry_after", secs)
		return reports.Report{}, fmt.Errorf("%w: retry after %ds", errReportLimited, secs)
	}
	if wait := rs.limiter.Wait(client); wait > 0 {
		return limited(wait)
	}
	in, err := reports.Clean(in)
	var problems reports.Problems
	if err != nil && !errors.As(err, &problems) {
		return reports.Report{}, err
	}
	if in.SensorID != "" && catalog.ValidSensorID(in.SensorID) {
		if _, err := h.publishedEntry(ctx, in.SensorID); errors.Is(err, errNotPublished) || errors.Is(err, store.ErrNotFound) {
			problems = append(problems, reports.Problem{Field: "sensor_id", Code: reports.CodeSensor})
		} else if err != nil {
			return reports.Report{}, err
		}
	}
	if len(problems) > 0 {
		return reports.Report{}, reportProblems(problems)
	}
	if wait := rs.limiter.Attempt(client); wait > 0 {
		return limited(wait)
	}
	now := rs.now()
	if discard {
		number, err := rs.store.PeekReportNumber(ctx, now)
		if err != nil {
			return reports.Report{}, err
		}
		h.log.Info("report discarded: the honeypot field was filled", "client", client, "kind", in.Kind)
		return reports.New(in, number, now), nil
	}
	r, err := rs.store.CreateReport(ctx, reports.New(in, "", now))
	if err != nil {
		return reports.Report{}, err
	}
	h.log.Info("report filed", "number", r.Number, "kind", r.Kind, "sensor", r.SensorID)
	return r, nil
}

// reportURL is the public page of a report.
func (h *handler) reportURL(number string) string { return h.publicURL + web.ReportPath(number) }

// reportNumber reads the :number of a path; a malformed one is
// store.ErrNoReport.
func reportNumber(c *gin.Context) (string, error) {
	n := c.Param("number")
	if _, _, ok := reports.ParseNumber(n); !ok {
		return "", fmt.Errorf("report %q: %w", n, store.ErrNoReport)
	}
	return n, nil
}

// sensorName returns the name of the published entry id, or nil.
func (h *handler) sensorName(ctx context.Context, id string) *registryapi.Text {
	if id == "" {
		return nil
	}
	s, err := h.publishedEntry(ctx, id)
	if err != nil {
		return nil
	}
	return &s.Name
}

// --- The public's pages ---

func (h *handler) showReportForm(c *gin.Context, status int, d web.ReportFormPage) {
	sensors, err := h.published(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	for _, s := range sensors {
		d.Sensors = append(d.Sensors, web.SensorChoice{ID: s.ID, Name: s.Name})
	}
	r := request(c)
	h.writeStaffPage(c, status, func(b *strings.Builder) error { return h.pages.ReportForm(b, r, d) })
}

// reportForm shows the report form; ?kind= and ?sensor= preselect.
func (h *handler) reportForm(c *gin.Context) {
	form := web.ReportForm{Kind: c.Query("kind"), SensorID: c.Query("sensor")}
	if !reports.ValidKind(form.Kind) {
		form.Kind = ""
	}
	if form.SensorID != "" && form.Kind == "" {
		form.Kind = registryapi.ReportWrongInformation
	}
	h.showReportForm(c, http.StatusOK, web.ReportFormPage{Form: form})
}

// reportFile files the form's report and answers the thank-you page.
func (h *handler) reportFile(c *gin.Context) {
	limitBody(c)
	form := web.ReportForm{
		Kind:     c.PostForm("kind"),
		SensorID: c.PostForm("sensor_id"),
		Location: c.PostForm("location"),
		Message:  c.PostForm("message"),
		Email:    c.PostForm("email"),
	}
	if form.Kind == registryapi.ReportMissingSensor {
		form.SensorID = "" // a missing sensor has no entry: the list does not apply
	}
	r := request(c)
	in := registryapi.NewReport{Kind: form.Kind, SensorID: form.SensorID, Location: form.Location,
		Message: form.Message, Email: form.Email, Lang: r.Lang}
	rep, err := h.fileReport(c, in, c.PostForm(web.HoneypotField) != "")
	if fields, ok := asInvalid(err); ok {
		h.showReportForm(c, http.StatusBadRequest, web.ReportFormPage{Form: form, Errors: fields})
		return
	}
	if errors.Is(err, errReportLimited) {
		secs, _ := strconv.Atoi(c.Writer.Header().Get("Retry-After"))
		h.showReportForm(c, http.StatusTooManyRequests, web.ReportFormPage{Form: form,
			Notice: web.Notice{Key: "report.limited", Args: []any{max(1, (secs+59)/60)}, Error: true}})
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Header("Location", web.ReportPath(rep.Number))
	h.writeStaffPage(c, http.StatusCreated, func(b *strings.Builder) error {
		return h.pages.ReportThanks(b, r, rep.Number, rep.SenderEmail != "")
	})
}

// reportPage is a report's public page.
func (h *handler) reportPage(c *gin.Context) {
	ctx := c.Request.Context()
	rep, err := h.findReport(c)
	if err != nil {
		h.reportFailed(c, err)
		return
	}
	r := request(c)
	var buf strings.Builder
	d := web.ReportPage{Report: rep.Public(h.reportURL(rep.Number)), SensorName: h.sensorName(ctx, rep.SensorID)}
	if err := h.pages.Report(&buf, r, d); err != nil {
		h.fail(c, err)
		return
	}
	writePage(c, http.StatusOK, r, []byte(buf.String()))
}

func (h *handler) findReport(c *gin.Context) (reports.Report, error) {
	n, err := reportNumber(c)
	if err != nil {
		return reports.Report{}, err
	}
	return h.reports.store.Report(c.Request.Context(), n)
}

// reportFailed answers a failure about a report: the report's own "not
// found" page for pages, a problem body for the API.
func (h *handler) reportFailed(c *gin.Context, err error) {
	if !errors.Is(err, store.ErrNoReport) || wantsProblem(c.Request) {
		h.fail(c, err)
		return
	}
	r := request(c)
	var buf strings.Builder
	if err := h.pages.ReportNotFound(&buf, r); err != nil {
		h.fail(c, err)
		return
	}
	writePage(c, http.StatusNotFound, r, []byte(buf.String()))
}

// --- The public's JSON ---

func (h *handler) apiReportFile(c *gin.Context) {
	var in registryapi.NewReport
	if err := decodeJSON(c, &in); err != nil {
		h.failJSON(c, err)
		return
	}
	if in.Lang == "" {
		in.Lang = request(c).Lang
	}
	rep, err := h.fileReport(c, in, false)
	if fields, ok := asInvalid(err); ok {
		h.failJSON(c, fields)
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Header("Location", registryapi.PathReports+"/"+rep.Number)
	writeStaffJSON(c, http.StatusCreated, rep.Public(h.reportURL(rep.Number)))
}

func (h *handler) apiReport(c *gin.Context) {
	rep, err := h.findReport(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.writeJSON(c, rep.Public(h.reportURL(rep.Number)))
}

// --- Administrators ---

// reportFilter reads ?status= and ?kind=; an unknown value is errBadQuery.
func reportFilter(c *gin.Context) (store.ReportFilter, error) {
	f := store.ReportFilter{Status: c.Query("status"), Kind: c.Query("kind")}
	if f.Status != "" && !reports.ValidStatus(f.Status) {
		return f, fmt.Errorf("%w: status %q is not one of %s", errBadQuery, f.Status, strings.Join(registryapi.ReportStatuses, ", "))
	}
	if f.Kind != "" && !reports.ValidKind(f.Kind) {
		return f, fmt.Errorf("%w: kind %q is not one of %s", errBadQuery, f.Kind, strings.Join(registryapi.ReportKinds, ", "))
	}
	return f, nil
}

func (h *handler) adminReportsPage(c *gin.Context) {
	ctx := c.Request.Context()
	f, err := reportFilter(c)
	if err != nil {
		f = store.ReportFilter{} // a page shows everything rather than an error
	}
	list, err := h.reports.store.ListReports(ctx, f)
	if err != nil {
		h.fail(c, err)
		return
	}
	counts, err := h.reports.store.CountReports(ctx)
	if err != nil {
		h.fail(c, err)
		return
	}
	d := web.AdminReportsPage{Filter: web.ReportFilter{Status: f.Status, Kind: f.Kind}, Counts: counts}
	for _, rep := range list {
		d.Reports = append(d.Reports, rep.Staff(h.reportURL(rep.Number)))
	}
	r := request(c)
	h.writeStaffPage(c, http.StatusOK, func(b *strings.Builder) error { return h.pages.AdminReports(b, r, d) })
}

func (h *handler) showAdminReport(c *gin.Context, status int, rep reports.Report, d web.AdminReportPage) {
	d.Report = rep.Staff(h.reportURL(rep.Number))
	d.SensorName = h.sensorName(c.Request.Context(), rep.SensorID)
	r := request(c)
	h.writeStaffPage(c, status, func(b *strings.Builder) error { return h.pages.AdminReport(b, r, d) })
}

// answerForm is the answer form as a report shows it: its current status
// (in progress rather than received) and answer.
func answerForm(rep reports.Report) web.ReportAnswer {
	st := rep.Status
	if st == registryapi.ReportReceived {
		st = registryapi.ReportInProgress
	}
	return web.ReportAnswer{Status: st, Answer: rep.PublicAnswer}
}

func (h *handler) adminReportPage(c *gin.Context) {
	rep, err := h.findReport(c)
	if err != nil {
		h.reportFailed(c, err)
		return
	}
	d := web.AdminReportPage{Form: answerForm(rep)}
	switch c.Query("done") {
	case "updated":
		d.Notice = web.Notice{Key: "report.done"}
	case "unchanged":
		d.Notice = web.Notice{Key: "report.unchanged"}
	}
	h.showAdminReport(c, http.StatusOK, rep, d)
}

// updateReport applies an administrator's update; an update that changes
// nothing returns the report as it is, and changed false.
func (h *handler) updateReport(c *gin.Context, number string, u registryapi.ReportUpdate) (rep reports.Report, changed bool, err error) {
	p, _ := principal(c)
	ctx := c.Request.Context()
	rep, err = h.reports.store.UpdateReport(ctx, number, func(cur reports.Report) (reports.Report, reports.Event, error) {
		return reports.Apply(cur, u, string(p.Role), p.Actor(), h.reports.now())
	})
	if errors.Is(err, reports.ErrUnchanged) {
		rep, err = h.reports.store.Report(ctx, number)
		return rep, false, err
	}
	if err != nil {
		return reports.Report{}, false, err
	}
	h.log.Info("report updated", "number", number, "status", rep.Status, actorAttr(p))
	return rep, true, nil
}

func (h *handler) adminReportAnswer(c *gin.Context) {
	limitBody(c)
	number, err := reportNumber(c)
	if err != nil {
		h.reportFailed(c, err)
		return
	}
	form := web.ReportAnswer{Status: c.PostForm("status"), Answer: c.PostForm("public_answer"), Note: c.PostForm("note")}
	_, changed, err := h.updateReport(c, number, registryapi.ReportUpdate{Status: form.Status, PublicAnswer: &form.Answer, Note: form.Note})
	if fields, ok := asInvalid(err); ok {
		rep, err := h.reports.store.Report(c.Request.Context(), number)
		if err != nil {
			h.reportFailed(c, err)
			return
		}
		h.showAdminReport(c, http.StatusBadRequest, rep, web.AdminReportPage{Form: form, Errors: fields})
		return
	}
	if err != nil {
		h.reportFailed(c, err)
		return
	}
	done := "updated"
	if !changed {
		done = "unchanged"
	}
	c.Redirect(http.StatusSeeOther, web.AdminReportPath(number)+"?lang="+request(c).Lang+"&done="+done)
}

func (h *handler) apiAdminReports(c *gin.Context) {
	f, err := reportFilter(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	list, err := h.reports.store.ListReports(c.Request.Context(), f)
	if err != nil {
		h.fail(c, err)
		return
	}
	out := registryapi.StaffReportList{Reports: []registryapi.StaffReport{}}
	for _, rep := range list {
		out.Reports = append(out.Reports, rep.Staff(h.reportURL(rep.Number)))
	}
	writeStaffJSON(c, http.StatusOK, out)
}

func (h *handler) apiAdminReport(c *gin.Context) {
	rep, err := h.findReport(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	writeStaffJSON(c, http.StatusOK, rep.Staff(h.reportURL(rep.Number)))
}

func (h *handler) apiAdminReportUpdate(c *gin.Context) {
	number, err := reportNumber(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	var u registryapi.ReportUpdate
	if err := decodeJSON(c, &u); err != nil {
		h.failJSON(c, err)
		return
	}
	rep, _, err := h.updateReport(c, number, u)
	if fields, ok := asInvalid(err); ok {
		h.failJSON(c, fields)
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	writeStaffJSON(c, http.StatusOK, rep.Staff(h.reportURL(rep.Number)))
}
