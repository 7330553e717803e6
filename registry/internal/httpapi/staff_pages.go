package httpapi

// The technicians' provisioning pages (package web renders them): the
// same service as the provisioning API (provision.go) behind HTML forms,
// for a technician standing next to a lamp post with a phone. Every write
// goes through package provision, with the session's CSRF token (checked
// by authenticate before any handler runs); a successful write redirects
// (303) to the entry's page, so that reloading never posts twice — but
// the MQTT password, which is shown once, in the answer to its POST and
// never again.
//
//	GET  /staff/sensors                       work list (?q=, ?status=)
//	GET  /staff/sensors/new                   category chooser; ?category=air: the short form;
//	                                          ?from=<id>: the copy of an entry
//	POST /staff/sensors                       create a draft
//	GET  /staff/sensors/{id}                  the entry's staff page
//	GET  /staff/sensors/{id}/edit             the whole entry's form
//	POST /staff/sensors/{id}                  update (optimistic: the form's version)
//	POST /staff/sensors/{id}/duplicate        copy into a new draft
//	POST /staff/sensors/{id}/credentials      issue or rotate the MQTT password (shown once)
//	POST /staff/sensors/{id}/publish          publish (every problem listed on refusal)
//	POST /staff/sensors/{id}/status           maintenance, return to service, retirement
//	GET  /staff/sensors/{id}/sign.{pdf,svg}   the printable sign, drafts included
//	GET  /static/provision.js                 the "use my position" button

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/provision"
	"github.com/civisens/civisens/registry/internal/sign"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/internal/web"
	"github.com/civisens/civisens/registry/registryapi"
)

// staffPageRoutes adds the routes of this file.
func (h *handler) staffPageRoutes(e *gin.Engine) {
	e.GET(web.ProvisionJSPath, h.provisionScript)
	staff := h.require(auth.RoleTechnician, auth.RoleAdministrator)
	list, one := web.StaffSensorsPath, web.StaffSensorsPath+"/:id"
	e.GET(list, staff, h.staffSensors)
	e.POST(list, staff, h.staffCreate)
	e.GET(web.NewSensorPath, staff, h.staffNew)
	e.GET(one, staff, h.staffEntry)
	e.POST(one, staff, h.staffUpdate)
	e.GET(one+"/edit", staff, h.staffEdit)
	e.POST(one+"/duplicate", staff, h.staffDuplicate)
	e.POST(one+"/credentials", staff, h.staffCredentials)
	e.POST(one+"/publish", staff, h.staffPublish)
	e.POST(one+"/status", staff, h.staffStatus)
	e.GET(one+"/sign.:format", staff, h.staffSign)
}

func (h *handler) provisionScript(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=3600")
	c.Data(http.StatusOK, "text/javascript; charset=utf-8", h.pages.ProvisionJS())
}

// pageFail answers the errors of the provisioning pages that are not
// shown in a form: no such entry (404), a role that may not provision
// (403), the rest as h.fail does.
func (h *handler) pageFail(c *gin.Context, err error) {
	switch {
	case errors.Is(err, provision.ErrForbidden):
		h.deny(c, fmt.Errorf("%w: %w", errForbidden, err))
	case errors.Is(err, errNoProvision):
		c.AbortWithStatus(http.StatusNotImplemented)
	default:
		h.fail(c, err)
	}
}

// form returns the posted form (urlencoded or multipart), bounded by
// limitBodies.
func postedForm(c *gin.Context) (url.Values, error) {
	if err := c.Request.ParseMultipartForm(32 << 10); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		return nil, err
	}
	return c.Request.PostForm, nil
}

// redirectEntry sends to the entry's page after a write, with what was
// done for its notice.
func redirectEntry(c *gin.Context, id, done string) {
	c.Redirect(http.StatusSeeOther, web.StaffSensorPath(id)+"?lang="+request(c).Lang+"&done="+done)
}

// problemsOf returns the problems of a refusal in lang, and whether err
// is one.
func problemsOf(err error, lang string) ([]registryapi.FieldError, bool) {
	var inv *provision.InvalidError
	if errors.As(err, &inv) {
		return inv.Problems.In(lang), true
	}
	return nil, false
}

func (h *handler) staffSensors(c *gin.Context) {
	svc, p, ok := h.service(c)
	if !ok {
		return
	}
	entries, err := svc.Entries(c.Request.Context(), p)
	if err != nil {
		h.pageFail(c, err)
		return
	}
	r := request(c)
	d := web.StaffSensorsPage{Entries: entries, Query: c.Query("q"), Status: c.Query("status")}
	h.writeStaffPage(c, http.StatusOK, func(b *strings.Builder) error { return h.pages.StaffSensors(b, r, d) })
}

// newDraft is what a new draft of category starts from: the template and
// the territory (NewDraft), or, for a category without a template
// ("other"), the territory's organisation alone.
func newDraft(svc *provision.Service, category string) (registryapi.Sensor, []web.QuantityRow, bool) {
	if !catalog.ValidCategory(category) {
		return registryapi.Sensor{}, nil, false
	}
	t, ok := provision.TemplateFor(category)
	if !ok {
		e := registryapi.Sensor{Category: category, Status: registryapi.StatusDraft}
		if tr := svc.Territory(); tr.Name != "" {
			e.Accountable = registryapi.Organisation{Name: registryapi.Text{FR: tr.Name}, PublicAuthority: true}
			e.PublicContact.Email = tr.FunctionalEmail
		}
		return e, nil, true
	}
	e, err := svc.NewDraft(category)
	if err != nil {
		return registryapi.Sensor{}, nil, false
	}
	var rows []web.QuantityRow
	for _, q := range t.Quantities {
		rows = append(rows, web.QuantityRow{Quantity: q.Quantity, Declared: !q.Optional})
	}
	return e, rows, true
}

// staffNew answers the first step of a new sensor: the category chooser,
// the short form of a category, or the copy of an entry.
func (h *handler) staffNew(c *gin.Context) {
	svc, p, ok := h.service(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	r := request(c)
	if from := c.Query("from"); from != "" {
		s, err := h.sensors.Get(ctx, from)
		if err != nil {
			h.pageFail(c, err)
			return
		}
		id, err := svc.SuggestID(ctx, s.Category, s.Site)
		if err != nil {
			h.pageFail(c, err)
			return
		}
		d := web.DuplicatePage{From: s, NewID: id}
		h.writeStaffPage(c, http.StatusOK, func(b *strings.Builder) error { return h.pages.Duplicate(b, r, d) })
		return
	}
	category := c.Query("category")
	if category == "" {
		entries, err := svc.Entries(ctx, p)
		if err != nil {
			h.pageFail(c, err)
			return
		}
		h.writeStaffPage(c, http.StatusOK, func(b *strings.Builder) error {
			return h.pages.NewSensor(b, r, web.NewSensorPage{Entries: entries})
		})
		return
	}
	e, rows, ok := newDraft(svc, category)
	if !ok {
		c.Redirect(http.StatusSeeOther, web.NewSensorPath+"?lang="+r.Lang)
		return
	}
	e, pre, err := svc.Prefill(ctx, p, e)
	if err != nil {
		h.pageFail(c, err)
		return
	}
	d := web.SensorFormPage{New: true, Prefilled: pre,
		Form: web.SensorForm{Entry: e, Quantities: rows, Support: web.DefaultSupport(category)}}
	h.writeStaffPage(c, http.StatusOK, func(b *strings.Builder) error { return h.pages.SensorForm(b, r, d) })
}

// showForm answers the creation or edit form again, with its problems.
func (h *handler) showForm(c *gin.Context, status int, d web.SensorFormPage) {
	r := request(c)
	h.writeStaffPage(c, status, func(b *strings.Builder) error { return h.pages.SensorForm(b, r, d) })
}

// rowAction handles the form's "add a row" buttons: the form comes back
// with an empty row, nothing is saved. It reports whether it did.
func (h *handler) rowAction(c *gin.Context, d web.SensorFormPage) bool {
	switch d.Form.Action {
	case web.ActionAddQuantity:
		d.Form.Quantities = append(d.Form.Quantities, web.QuantityRow{Declared: true})
	case web.ActionAddOperator:
		d.Form.ExtraOperators = 1
	default:
		return false
	}
	h.showForm(c, http.StatusOK, d)
	return true
}

func (h *handler) staffCreate(c *gin.Context) {
	svc, p, ok := h.service(c)
	if !ok {
		return
	}
	v, err := postedForm(c)
	if err != nil {
		h.pageFail(c, err)
		return
	}
	r := request(c)
	base, _, ok := newDraft(svc, v.Get("category"))
	if !ok {
		base = registryapi.Sensor{Category: v.Get("category"), Status: registryapi.StatusDraft}
	}
	f, bad := web.ParseSensorForm(r.Lang, v, base)
	d := web.SensorFormPage{New: true, Form: f, Problems: bad}
	if h.rowAction(c, d) {
		return
	}
	if len(bad) > 0 {
		h.showForm(c, http.StatusUnprocessableEntity, d)
		return
	}
	out, err := svc.CreateDraft(c.Request.Context(), p, f.Entry, "")
	if ps, ok := problemsOf(err, r.Lang); ok {
		d.Problems = ps
		h.showForm(c, http.StatusUnprocessableEntity, d)
		return
	}
	if err != nil {
		h.pageFail(c, err)
		return
	}
	h.log.Info("draft created", "sensor", out.ID, "by", p.Actor())
	redirectEntry(c, out.ID, "created")
}

// staffView reads the staff's view of the entry of the route.
func (h *handler) staffView(c *gin.Context) (provision.Entry, bool) {
	svc, p, ok := h.service(c)
	if !ok {
		return provision.Entry{}, false
	}
	e, err := svc.Entry(c.Request.Context(), p, c.Param("id"), request(c).Lang)
	if err != nil {
		h.pageFail(c, err)
		return provision.Entry{}, false
	}
	return e, true
}

// showEntry answers the entry's page, fresh from the store, with d's
// additions (a password issued, a refusal, a notice).
func (h *handler) showEntry(c *gin.Context, status int, d web.StaffEntryPage) {
	e, ok := h.staffView(c)
	if !ok {
		return
	}
	d.Entry = e
	d.PublicURL = h.entryURL(e.Sensor.ID)
	r := request(c)
	h.writeStaffPage(c, status, func(b *strings.Builder) error { return h.pages.StaffEntry(b, r, d) })
}

// provisionNotices are the notices of ?done= after a write.
var provisionNotices = map[string]string{
	"created": "prov.done.created", "saved": "prov.done.saved", "unchanged": "prov.done.unchanged",
	"published": "prov.done.published", "status": "prov.done.status", "duplicated": "prov.done.duplicated",
}

func (h *handler) staffEntry(c *gin.Context) {
	var d web.StaffEntryPage
	if k, ok := provisionNotices[c.Query("done")]; ok {
		d.Notice = web.Notice{Key: k}
	}
	h.showEntry(c, http.StatusOK, d)
}

func (h *handler) staffEdit(c *gin.Context) {
	e, ok := h.staffView(c)
	if !ok {
		return
	}
	s := e.Sensor
	h.showForm(c, http.StatusOK, web.SensorFormPage{Status: s.Status,
		Form: web.SensorForm{Entry: s, Quantities: web.QuantityRows(s.Quantities), Version: s.Version}})
}

func (h *handler) staffUpdate(c *gin.Context) {
	svc, p, ok := h.service(c)
	if !ok {
		return
	}
	cur, ok := h.staffView(c)
	if !ok {
		return
	}
	v, err := postedForm(c)
	if err != nil {
		h.pageFail(c, err)
		return
	}
	r := request(c)
	f, bad := web.ParseSensorForm(r.Lang, v, cur.Sensor)
	d := web.SensorFormPage{Status: cur.Sensor.Status, Form: f, Problems: bad}
	if h.rowAction(c, d) {
		return
	}
	if len(bad) > 0 {
		h.showForm(c, http.StatusUnprocessableEntity, d)
		return
	}
	out, err := svc.Update(c.Request.Context(), p, cur.Sensor.ID, f.Entry, f.Reason, f.Version)
	if ps, ok := problemsOf(err, r.Lang); ok {
		d.Problems = ps
		h.showForm(c, http.StatusUnprocessableEntity, d)
		return
	}
	if errors.Is(err, store.ErrConflict) {
		d.Conflict = true
		h.showForm(c, http.StatusConflict, d)
		return
	}
	if err != nil {
		h.pageFail(c, err)
		return
	}
	done := "saved"
	if out.Version == cur.Sensor.Version {
		done = "unchanged"
	}
	redirectEntry(c, out.ID, done)
}

func (h *handler) staffDuplicate(c *gin.Context) {
	svc, p, ok := h.service(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	from, err := h.sensors.Get(ctx, c.Param("id"))
	if err != nil {
		h.pageFail(c, err)
		return
	}
	v, err := postedForm(c)
	if err != nil {
		h.pageFail(c, err)
		return
	}
	r := request(c)
	d := web.DuplicatePage{From: from, NewID: strings.TrimSpace(v.Get("id")), Reason: strings.TrimSpace(v.Get("reason"))}
	out, err := svc.Duplicate(ctx, p, from.ID, d.NewID, d.Reason)
	if ps, ok := problemsOf(err, r.Lang); ok {
		d.Problems = ps
		h.writeStaffPage(c, http.StatusUnprocessableEntity, func(b *strings.Builder) error { return h.pages.Duplicate(b, r, d) })
		return
	}
	if err != nil {
		h.pageFail(c, err)
		return
	}
	redirectEntry(c, out.ID, "duplicated")
}

// staffCredentials issues or rotates the sensor's MQTT password and shows
// it, this once: the answer is not cached, and the page reached by any
// other way never shows it again.
func (h *handler) staffCredentials(c *gin.Context) {
	svc, p, ok := h.service(c)
	if !ok {
		return
	}
	issued, err := svc.IssueCredentials(c.Request.Context(), p, c.Param("id"))
	if ps, ok := problemsOf(err, request(c).Lang); ok {
		h.showEntry(c, http.StatusUnprocessableEntity, web.StaffEntryPage{Problems: ps, Action: "credentials"})
		return
	}
	if err != nil {
		h.pageFail(c, err)
		return
	}
	h.showEntry(c, http.StatusOK, web.StaffEntryPage{Issued: &issued})
}

// lifecycle publishes the entry (status "") or moves it to status, and
// shows every problem of a refusal.
func (h *handler) lifecycle(c *gin.Context, publish bool) {
	svc, p, ok := h.service(c)
	if !ok {
		return
	}
	v, err := postedForm(c)
	if err != nil {
		h.pageFail(c, err)
		return
	}
	r := request(c)
	reason := strings.TrimSpace(v.Get("reason"))
	var version int
	fmt.Sscan(v.Get("version"), &version)
	id, status, action := c.Param("id"), v.Get("status"), v.Get("status")
	var out registryapi.Sensor
	if publish {
		action = "publish"
		out, err = svc.Publish(c.Request.Context(), p, id, reason, version)
	} else {
		out, err = svc.SetStatus(c.Request.Context(), p, id, status, reason, version)
	}
	if ps, ok := problemsOf(err, r.Lang); ok {
		h.showEntry(c, http.StatusUnprocessableEntity, web.StaffEntryPage{Problems: ps, Action: action, Reason: reason})
		return
	}
	if errors.Is(err, store.ErrConflict) {
		h.showEntry(c, http.StatusConflict, web.StaffEntryPage{Notice: web.Notice{Key: "prov.conflict.action", Error: true}})
		return
	}
	if err != nil {
		h.pageFail(c, err)
		return
	}
	h.log.Info("entry status changed", "sensor", out.ID, "status", out.Status, "by", p.Actor())
	if publish {
		redirectEntry(c, out.ID, "published")
		return
	}
	redirectEntry(c, out.ID, "status")
}

func (h *handler) staffPublish(c *gin.Context) { h.lifecycle(c, true) }
func (h *handler) staffStatus(c *gin.Context)  { h.lifecycle(c, false) }

// staffSign answers the sign of any entry, drafts included: a technician
// prints it before publishing (its QR code leads to the stable URL, which
// answers from publication on).
func (h *handler) staffSign(c *gin.Context) {
	if _, _, ok := h.service(c); !ok {
		return
	}
	format, err := sign.ParseFormat(c.Param("format"))
	if err != nil {
		h.fail(c, errNoRoute)
		return
	}
	size, err := sign.ParseSize(c.Query("size"))
	if err != nil {
		h.fail(c, err)
		return
	}
	s, err := h.sensors.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		h.pageFail(c, err)
		return
	}
	h.writeSign(c, s, sign.Options{Format: format, Size: size})
}
