package httpapi

// Provisioning, as JSON (package provision holds the rules; the
// technicians' pages use the same service): drafts, updates, publication,
// lifecycle, MQTT credentials, firmware bridges, templates; the staff's
// view of entries (drafts included); the body size limit of every request;
// and who may read the gateway's view. Every route but the gateway's is for
// technicians and administrators, with a session (and its CSRF token) or an
// API token.
//
// Bodies are JSON (application/json), decoded strictly (an unknown field
// is refused). Reasons travel in the body, never in a header: French
// reasons are not ASCII. Refusals are RFC 9457 problems; a refused entry
// is a 422 whose "errors" list every problem, each with its field, its
// stable code and its message in the request's language (?lang=en or
// Accept-Language; French by default).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/civisens/civisens/registry/internal/auth"
	"github.com/civisens/civisens/registry/internal/catalog"
	"github.com/civisens/civisens/registry/internal/dtpr"
	"github.com/civisens/civisens/registry/internal/provision"
	"github.com/civisens/civisens/registry/internal/store"
	"github.com/civisens/civisens/registry/internal/web"
	"github.com/civisens/civisens/registry/registryapi"
)

// DefaultMaxBodyBytes bounds a request body unless Deps says otherwise (the
// import has its own bound, Deps.ImportMaxBytes).
const DefaultMaxBodyBytes = 1 << 20

// Paths of the provisioning API (technicians and administrators).
const (
	pathDrafts       = "/api/v1/drafts"        // GET: every entry, drafts included
	pathStaffSensors = "/api/v1/staff/sensors" // GET /{id}: the staff's view of an entry
	pathTemplates    = "/api/v1/templates"     // GET /{category}
	pathBridges      = "/api/v1/bridges"
)

// Kinds of errors of this file; provisionFail maps them.
var (
	errBadBody      = errors.New("the body is not the JSON this operation reads")
	errBadMediaType = errors.New("the body must be JSON (Content-Type: application/json)")
	errNoProvision  = errors.New("this registry cannot provision")
)

// gatewayViewer is the store's snapshot of the gateway's view
// (*store.Store provides it).
type gatewayViewer interface {
	GatewayView(ctx context.Context) (registryapi.AllowList, error)
}

// provisioning is the handler's provisioning state.
type provisioning struct {
	svc     *provision.Service // nil: no store to provision into (501)
	maxBody int64
}

func newProvisioning(d Deps) *provisioning {
	p := &provisioning{svc: d.Provision, maxBody: d.MaxBodyBytes}
	if p.svc == nil {
		if st, ok := d.Sensors.(provision.Store); ok {
			p.svc = provision.New(st, provision.Options{Territory: d.Territory, Log: d.Log})
		}
	}
	if p.maxBody <= 0 {
		p.maxBody = DefaultMaxBodyBytes
	}
	return p
}

// limitBodies bounds every request body, before anything reads it (the
// CSRF check parses forms): 413 beyond Deps.MaxBodyBytes (the import has
// its own, larger bound). A body of unknown length is read here, up to the
// bound, so that it is refused with 413 too.
func (h *handler) limitBodies(c *gin.Context) {
	r := c.Request
	if r.Body == nil || r.Body == http.NoBody || r.URL.Path == registryapi.PathImport {
		c.Next()
		return
	}
	limit := h.prov.maxBody
	tooLarge := func() {
		h.log.Info("request body too large", "method", r.Method, "path", r.URL.Path, "limit", limit)
		writeProblem(c, problemFor(&http.MaxBytesError{Limit: limit}))
	}
	if r.ContentLength > limit {
		tooLarge()
		return
	}
	r.Body = http.MaxBytesReader(c.Writer, r.Body, limit)
	if r.ContentLength < 0 {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			tooLarge()
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	c.Next()
}

// provisionRoutes adds the routes of this file.
func (h *handler) provisionRoutes(e *gin.Engine) {
	// The gateway's view carries credential hashes: a gateway's API token,
	// or an administrator.
	e.GET(registryapi.PathAllowList, h.require(auth.RoleGateway, auth.RoleAdministrator), h.apiAllowList)

	staff := h.require(auth.RoleTechnician, auth.RoleAdministrator)
	sensor := registryapi.PathSensors + "/:id"
	e.POST(registryapi.PathSensors, staff, h.apiCreateDraft)           // ?template=air
	e.PUT(sensor, staff, h.apiUpdateEntry)                             // {entry, reason}
	e.POST(sensor+"/duplicate", staff, h.apiDuplicate)                 // {id, reason}
	e.POST(sensor+"/publish", staff, h.apiPublish)                     // {reason, version}
	e.POST(sensor+"/status", staff, h.apiSetStatus)                    // {status, reason, version}
	e.POST(sensor+"/credentials", staff, h.apiIssueCredentials)        // 201, the password once
	e.DELETE(sensor+"/credentials", staff, h.apiRevokeCredentials)     // 204
	e.GET(pathDrafts, staff, h.apiDrafts)                              // ?status=draft
	e.GET(pathStaffSensors+"/:id", staff, h.apiStaffEntry)             // drafts too, with history
	e.GET(pathTemplates+"/:category", staff, h.apiTemplate)            // quantities and DTPR defaults
	e.GET(pathBridges, staff, h.apiBridges)                            // firmware bridges
	e.POST(pathBridges, staff, h.apiCreateBridge)                      // {id, name}
	e.GET(pathBridges+"/:id", staff, h.apiBridge)                      //
	e.PUT(pathBridges+"/:id/sensors", staff, h.apiBridgeSensors)       // {sensors}
	e.POST(pathBridges+"/:id/credentials", staff, h.apiBridgeIssue)    // 201, the password once
	e.DELETE(pathBridges+"/:id/credentials", staff, h.apiBridgeRevoke) // 204
}

// provisionWords are the details of the problems of this file, by language.
var provisionWords = map[string]map[string]string{
	catalog.LangFR: {
		"invalid":   "La demande est refusée : chaque problème est listé dans « errors ».",
		"notfound":  "Aucune fiche n'a cet identifiant.",
		"nobridge":  "Aucune passerelle n'a cet identifiant.",
		"nocred":    "Il n'y a pas d'identifiants MQTT à révoquer.",
		"conflict":  "La fiche a été modifiée entre-temps : relisez-la, refaites la modification sur sa dernière version.",
		"forbidden": "Votre rôle ne permet pas de provisionner des capteurs.",
		"body":      "Le corps de la requête n'est pas le JSON attendu : %s",
		"mediatype": "Le corps doit être du JSON (Content-Type: application/json).",
	},
	catalog.LangEN: {
		"invalid":   "The request is refused: every problem is listed in \"errors\".",
		"notfound":  "No entry has this id.",
		"nobridge":  "No firmware bridge has this id.",
		"nocred":    "There is no MQTT credential to revoke.",
		"conflict":  "The entry was changed meanwhile: read it again and make the change on its latest version.",
		"forbidden": "Your role does not allow provisioning sensors.",
		"body":      "The request body is not the JSON expected: %s",
		"mediatype": "The body must be JSON (Content-Type: application/json).",
	},
}

// lang is the language of the request's problems: ?lang=, then
// Accept-Language, then French.
func lang(c *gin.Context) string {
	return web.Negotiate(c.Query("lang"), c.GetHeader("Accept-Language"))
}

// provisionFail answers err, in the request's language for the kinds of
// this file and the provisioning service; others go to h.fail.
func (h *handler) provisionFail(c *gin.Context, err error) {
	l := lang(c)
	words := provisionWords[l]
	answer := func(status int, detail string, errs []registryapi.FieldError) {
		c.Header("Content-Language", l)
		c.Header("Vary", "Accept-Language")
		writeProblem(c, registryapi.Problem{Title: http.StatusText(status), Status: status, Detail: detail, Errors: errs})
	}
	var inv *provision.InvalidError
	switch {
	case errors.As(err, &inv):
		answer(http.StatusUnprocessableEntity, words["invalid"], inv.Problems.In(l))
	case errors.Is(err, errBadBody):
		answer(http.StatusBadRequest, fmt.Sprintf(words["body"], strings.TrimPrefix(err.Error(), errBadBody.Error()+": ")), nil)
	case errors.Is(err, errBadMediaType):
		answer(http.StatusUnsupportedMediaType, words["mediatype"], nil)
	case errors.Is(err, store.ErrNotFound):
		answer(http.StatusNotFound, words["notfound"], nil)
	case errors.Is(err, store.ErrNoBridge):
		answer(http.StatusNotFound, words["nobridge"], nil)
	case errors.Is(err, store.ErrNoCredential):
		answer(http.StatusNotFound, words["nocred"], nil)
	case errors.Is(err, store.ErrConflict):
		answer(http.StatusConflict, words["conflict"], nil)
	case errors.Is(err, provision.ErrForbidden):
		answer(http.StatusForbidden, words["forbidden"], nil)
	case errors.Is(err, errNoProvision):
		answer(http.StatusNotImplemented, err.Error(), nil)
	default:
		h.fail(c, err)
	}
}

// decodeBody reads a JSON body into v, strictly: the media type must be
// JSON, unknown fields and trailing data are refused. An empty body leaves
// v as it is when optional.
func decodeBody(c *gin.Context, v any, optional bool) error {
	data, err := io.ReadAll(c.Request.Body) // bounded by limitBodies
	if err != nil {
		return err // a *http.MaxBytesError: 413
	}
	if len(bytes.TrimSpace(data)) == 0 {
		if optional {
			return nil
		}
		return fmt.Errorf("%w: %s", errBadBody, "empty body")
	}
	if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return errBadMediaType
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("trailing data after the JSON value")
	}
	if err != nil {
		return fmt.Errorf("%w: %v", errBadBody, err)
	}
	return nil
}

// service returns the provisioning service and the principal, or answers
// 501 when there is no service.
func (h *handler) service(c *gin.Context) (*provision.Service, auth.Principal, bool) {
	p, _ := principal(c) // require has let a principal through
	if h.prov.svc == nil {
		h.provisionFail(c, errNoProvision)
		return nil, p, false
	}
	return h.prov.svc, p, true
}

// writeEntry answers an entry with its stable URL.
func (h *handler) writeEntry(c *gin.Context, status int, s registryapi.Sensor) {
	s.URL = h.entryURL(s.ID)
	if status == http.StatusCreated {
		c.Header("Location", pathStaffSensors+"/"+s.ID)
	}
	writeStaffJSON(c, status, s)
}

// UpdateRequest is the body of PUT /api/v1/sensors/{id}: the whole entry
// as it should be (its version is the one it was read at), and why.
type UpdateRequest struct {
	Entry registryapi.Sensor `json:"entry"`
	// Reason is required for a published entry.
	Reason string `json:"reason"`
}

// LifecycleRequest is the body of POST /api/v1/sensors/{id}/publish (no
// status) and /status.
type LifecycleRequest struct {
	Status string `json:"status,omitempty"` // active, maintenance or retired; only for /status
	// Reason is required unless the entry is a draft being published.
	Reason string `json:"reason,omitempty"`
	// Version, when not 0, is the version the move was decided on: 409
	// when the entry has moved on.
	Version int `json:"version,omitempty"`
}

// DuplicateRequest is the body of POST /api/v1/sensors/{id}/duplicate.
type DuplicateRequest struct {
	ID     string `json:"id,omitempty"` // the new entry's id; empty: suggested
	Reason string `json:"reason,omitempty"`
}

// BridgeRequest is the body of POST /api/v1/bridges.
type BridgeRequest struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// BridgeSensorsRequest is the body of PUT /api/v1/bridges/{id}/sensors:
// the whole list of the sensors the bridge may publish for.
type BridgeSensorsRequest struct {
	Sensors []string `json:"sensors"`
}

// BridgeList is the answer of GET /api/v1/bridges.
type BridgeList struct {
	Bridges []provision.Bridge `json:"bridges"`
}

// apiCreateDraft creates a draft from the body (a partial entry; an empty
// body is an empty entry), filled from a template with ?template=air.
func (h *handler) apiCreateDraft(c *gin.Context) {
	svc, p, ok := h.service(c)
	if !ok {
		return
	}
	var in registryapi.Sensor
	if err := decodeBody(c, &in, true); err != nil {
		h.provisionFail(c, err)
		return
	}
	if t := c.Query("template"); t != "" {
		var err error
		if in, err = svc.FromTemplate(in, t); err != nil {
			h.provisionFail(c, err)
			return
		}
	}
	out, err := svc.CreateDraft(c.Request.Context(), p, in, "")
	if err != nil {
		h.provisionFail(c, err)
		return
	}
	h.writeEntry(c, http.StatusCreated, out)
}

func (h *handler) apiUpdateEntry(c *gin.Context) {
	svc, p, ok := h.service(c)
	if !ok {
		return
	}
	var in UpdateRequest
	if err := decodeBody(c, &in, false); err != nil {
		h.provisionFail(c, err)
		return
	}
	out, err := svc.Update(c.Request.Context(), p, c.Param("id"), in.Entry, in.Reason, in.Entry.Version)
	if err != nil {
		h.provisionFail(c, err)
		return
	}
	h.writeEntry(c, http.StatusOK, out)
}

func (h *handler) apiDuplicate(c *gin.Context) {
	svc, p, ok := h.service(c)
	if !ok {
		return
	}
	var in DuplicateRequest
	if err := decodeBody(c, &in, true); err != nil {
		h.provisionFail(c, err)
		return
	}
	out, err := svc.Duplicate(c.Request.Context(), p, c.Param("id"), in.ID, in.Reason)
	if err != nil {
		h.provisionFail(c, err)
		return
	}
	h.writeEntry(c, http.StatusCreated, out)
}

func (h *handler) apiPublish(c *gin.Context) {
	svc, p, ok := h.service(c)
	if !ok {
		return
	}
	var in LifecycleRequest
	if err := decodeBody(c, &in, true); err != nil {
		h.provisionFail(c, err)
		return
	}
	if in.Status != "" && in.Status != registryapi.StatusActive {
		h.provisionFail(c, fmt.Errorf("%w: status %q: publishing makes an entry active; use /status", errBadBody, in.Status))
		return
	}
	out, err := svc.Publish(c.Request.Context(), p, c.Param("id"), in.Reason, in.Version)
	if err != nil {
		h.provisionFail(c, err)
		return
	}
	h.log.Info("entry published", "sensor", out.ID, "by", p.Actor())
	h.writeEntry(c, http.StatusOK, out)
}

func (h *handler) apiSetStatus(c *gin.Context) {
	svc, p, ok := h.service(c)
	if !ok {
		return
	}
	var in LifecycleRequest
	if err := decodeBody(c, &in, false); err != nil {
		h.provisionFail(c, err)
		return
	}
	out, err := svc.SetStatus(c.Request.Context(), p, c.Param("id"), in.Status, in.Reason, in.Version)
	if err != nil {
		h.provisionFail(c, err)
		return
	}
	h.log.Info("entry status changed", "sensor", out.ID, "status", out.Status, "by", p.Actor())
	h.writeEntry(c, http.StatusOK, out)
}

func (h *handler) apiIssueCredentials(c *gin.Context) {
	svc, p, ok := h.service(c)
	if !ok {
		return
	}
	out, err := svc.IssueCredentials(c.Request.Context(), p, c.Param("id"))
	if err != nil {
		h.provisionFail(c, err)
		return
	}
	writeStaffJSON(c, http.StatusCreated, out)
}

func (h *handler) apiRevokeCredentials(c *gin.Context) {
	svc, p, ok := h.service(c)
	if !ok {
		return
	}
	if err := svc.RevokeCredentials(c.Request.Context(), p, c.Param("id")); err != nil {
		h.provisionFail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// apiDrafts answers every entry, drafts included, or those of the states
// ?status= names (repeated, or separated by commas).
func (h *handler) apiDrafts(c *gin.Context) {
	svc, p, ok := h.service(c)
	if !ok {
		return
	}
	var statuses []string
	for _, v := range c.QueryArray("status") {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				statuses = append(statuses, s)
			}
		}
	}
	entries, err := svc.Entries(c.Request.Context(), p, statuses...)
	if err != nil {
		h.provisionFail(c, err)
		return
	}
	for i := range entries {
		entries[i].URL = h.entryURL(entries[i].ID)
	}
	writeStaffJSON(c, http.StatusOK, registryapi.SensorList{Sensors: entries, Attribution: dtpr.Notice})
}

func (h *handler) apiStaffEntry(c *gin.Context) {
	svc, p, ok := h.service(c)
	if !ok {
		return
	}
	out, err := svc.Entry(c.Request.Context(), p, c.Param("id"), lang(c))
	if err != nil {
		h.provisionFail(c, err)
		return
	}
	out.Sensor.URL = h.entryURL(out.Sensor.ID)
	c.Header("Content-Language", lang(c))
	writeStaffJSON(c, http.StatusOK, out)
}

func (h *handler) apiTemplate(c *gin.Context) {
	t, ok := provision.TemplateFor(c.Param("category"))
	if !ok {
		h.provisionFail(c, fmt.Errorf("template %q: %w", c.Param("category"), store.ErrNotFound))
		return
	}
	writeStaffJSON(c, http.StatusOK, t)
}

func (h *handler) apiBridges(c *gin.Context) {
	svc, p, ok := h.service(c)
	if !ok {
		return
	}
	bs, err := svc.Bridges(c.Request.Context(), p)
	if err != nil {
		h.provisionFail(c, err)
		return
	}
	writeStaffJSON(c, http.StatusOK, BridgeList{Bridges: bs})
}

func (h *handler) apiCreateBridge(c *gin.Context) {
	svc, p, ok := h.service(c)
	if !ok {
		return
	}
	var in BridgeRequest
	if err := decodeBody(c, &in, false); err != nil {
		h.provisionFail(c, err)
		return
	}
	b, err := svc.CreateBridge(c.Request.Context(), p, in.ID, in.Name)
	if err != nil {
		h.provisionFail(c, err)
		return
	}
	c.Header("Location", pathBridges+"/"+b.ID)
	writeStaffJSON(c, http.StatusCreated, b)
}

func (h *handler) apiBridge(c *gin.Context) {
	svc, p, ok := h.service(c)
	if !ok {
		return
	}
	b, err := svc.Bridge(c.Request.Context(), p, c.Param("id"))
	if err != nil {
		h.provisionFail(c, err)
		return
	}
	writeStaffJSON(c, http.StatusOK, b)
}

func (h *handler) apiBridgeSensors(c *gin.Context) {
	svc, p, ok := h.service(c)
	if !ok {
		return
	}
	var in BridgeSensorsRequest
	if err := decodeBody(c, &in, false); err != nil {
		h.provisionFail(c, err)
		return
	}
	b, err := svc.SetBridgeSensors(c.Request.Context(), p, c.Param("id"), in.Sensors)
	if err != nil {
		h.provisionFail(c, err)
		return
	}
	writeStaffJSON(c, http.StatusOK, b)
}

func (h *handler) apiBridgeIssue(c *gin.Context) {
	svc, p, ok := h.service(c)
	if !ok {
		return
	}
	out, err := svc.IssueBridgeCredentials(c.Request.Context(), p, c.Param("id"))
	if err != nil {
		h.provisionFail(c, err)
		return
	}
	writeStaffJSON(c, http.StatusCreated, out)
}

func (h *handler) apiBridgeRevoke(c *gin.Context) {
	svc, p, ok := h.service(c)
	if !ok {
		return
	}
	if err := svc.RevokeBridgeCredentials(c.Request.Context(), p, c.Param("id")); err != nil {
		h.provisionFail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// provisionOperations describes the routes of this file for the OpenAPI
// document (openapi.go).
func provisionOperations(ref func(any) object) []operation {
	sensorID := object{"name": "id", "in": "path", "required": true,
		"schema": object{"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{2,62}$"}}
	bridgeID := object{"name": "id", "in": "path", "required": true,
		"schema": object{"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{2,62}$"}, "description": "the bridge's id"}
	langParam := object{"name": "lang", "in": "query", "schema": object{"type": "string", "enum": []string{"fr", "en"}},
		"description": "language of the problems' messages (else Accept-Language; French by default)"}
	body := func(schema object) object {
		return object{"required": true, "content": object{"application/json": object{"schema": schema}}}
	}
	answer := func(status, description string, schema object) map[string]object {
		if schema == nil {
			return map[string]object{status: {"description": description}}
		}
		return map[string]object{status: {"description": description, "content": object{"application/json": object{"schema": schema}}}}
	}
	const who = "technician or administrator"
	writes := []string{"400", "401", "403", "404", "409", "413", "415", "422"}
	reads := []string{"401", "403", "404"}
	sensor := ref(registryapi.Sensor{})
	issued := ref(provision.Issued{})
	op := func(method, path, summary, description string, params []object, b object, ok map[string]object, problems []string) operation {
		return operation{method: method, path: path, summary: summary, description: description, tag: "provisioning",
			auth: who, params: params, body: b, ok: ok, problems: problems}
	}
	sp := registryapi.PathSensors + "/:id"
	return []operation{
		op("POST", registryapi.PathSensors, "Create a draft",
			"The body is a partial entry (only category is required; an empty id is suggested from the category and the site, e.g. air-gare-02). "+
				"?template=air (parking, lighting, energy) fills the empty fields from the category's template and the territory. No reason is needed for a draft.",
			[]object{{"name": "template", "in": "query", "schema": object{"type": "string", "enum": provision.TemplateCategories()}}, langParam},
			object{"content": object{"application/json": object{"schema": sensor}}},
			answer("201", "The draft, as stored (version 1); Location is its staff view.", sensor), writes),
		op("PUT", sp, "Update an entry (a new version)",
			"The body is {entry, reason}: the whole entry as it should be, with the version it was read at (409 when the entry has moved on), and why (required for a published entry). "+
				"The id, status and decommissioning date are not changed by an update; a published entry must stay publishable (422 lists every problem).",
			[]object{sensorID, langParam}, body(ref(UpdateRequest{})), answer("200", "The entry as stored.", sensor), writes),
		op("POST", sp+"/duplicate", "Copy an entry into a new draft",
			"Everything but the id, the lifecycle, the location and the credentials. Body (optional): {id, reason}.",
			[]object{sensorID, langParam}, object{"content": object{"application/json": object{"schema": ref(DuplicateRequest{})}}},
			answer("201", "The new draft.", sensor), writes),
		op("POST", sp+"/publish", "Publish a draft (it becomes active)",
			"Refused with 422 and every problem when the entry is incomplete or contradictory. Body (optional): {reason, version}. The commissioning date is set to today when empty.",
			[]object{sensorID, langParam}, object{"content": object{"application/json": object{"schema": ref(LifecycleRequest{})}}},
			answer("200", "The published entry.", sensor), writes),
		op("POST", sp+"/status", "Change an entry's lifecycle state",
			"Body {status, reason, version}: draft → active (publication), active ↔ maintenance, active or maintenance → retired (final). The reason is required for a published entry.",
			[]object{sensorID, langParam}, body(ref(LifecycleRequest{})), answer("200", "The entry in its new state.", sensor), writes),
		op("POST", sp+"/credentials", "Issue or rotate the sensor's MQTT credentials",
			"The username is the sensor id; the password is in this answer only (never stored: the registry keeps its bcrypt hash). Issuing again rotates: the old password stops working.",
			[]object{sensorID, langParam}, nil, answer("201", "The credentials, shown once.", issued), writes),
		op("DELETE", sp+"/credentials", "Revoke the sensor's MQTT credentials", "",
			[]object{sensorID, langParam}, nil, answer("204", "Revoked.", nil), writes),
		op("GET", pathDrafts, "Every entry, drafts included",
			"?status=draft (repeated, or comma-separated) keeps the entries of those states.",
			[]object{{"name": "status", "in": "query", "schema": object{"type": "array", "items": object{"type": "string", "enum": catalog.Statuses()}}}},
			nil, answer("200", "The entries, ordered by id.", ref(registryapi.SensorList{})), append(reads, "422")),
		op("GET", pathStaffSensors+"/:id", "The staff's view of an entry",
			"The entry whatever its status, its history with the account of each change, the states it may move to, what publication would refuse (in the request's language), and its MQTT credential (never the password nor the hash).",
			[]object{sensorID, langParam}, nil, answer("200", "The staff's view.", ref(provision.Entry{})), reads),
		op("GET", pathTemplates+"/:category", "A category's template",
			"The quantities (SenML unit, plausible range, sampling period, fr/en label; optional ones flagged) and the DTPR defaults of a category.",
			[]object{{"name": "category", "in": "path", "required": true, "schema": object{"type": "string", "enum": provision.TemplateCategories()}}},
			nil, answer("200", "The template.", ref(provision.Template{})), reads),
		op("GET", pathBridges, "The firmware bridges", "", nil, nil, answer("200", "The bridges, by id.", ref(BridgeList{})), reads),
		op("POST", pathBridges, "Register a firmware bridge", "Body {id, name}; no sensors, no credentials yet.",
			[]object{langParam}, body(ref(BridgeRequest{})), answer("201", "The bridge.", ref(provision.Bridge{})), writes),
		op("GET", pathBridges+"/:id", "One firmware bridge", "", []object{bridgeID}, nil, answer("200", "The bridge.", ref(provision.Bridge{})), reads),
		op("PUT", pathBridges+"/:id/sensors", "Set the sensors a bridge may publish for",
			"Body {sensors}: the whole list (assigns and unassigns at once); each an entry of the register, not retired.",
			[]object{bridgeID, langParam}, body(ref(BridgeSensorsRequest{})), answer("200", "The bridge.", ref(provision.Bridge{})), writes),
		op("POST", pathBridges+"/:id/credentials", "Issue or rotate a bridge's MQTT credentials",
			"The username is bridge.{id}; the password is in this answer only.",
			[]object{bridgeID, langParam}, nil, answer("201", "The credentials, shown once.", issued), writes),
		op("DELETE", pathBridges+"/:id/credentials", "Revoke a bridge's MQTT credentials", "",
			[]object{bridgeID, langParam}, nil, answer("204", "Revoked.", nil), writes),
	}
}
