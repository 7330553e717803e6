package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/civisens/civisens/registry/internal/reports"
)

// ErrNoReport is the kind of the error about a report number that no
// report has.
var ErrNoReport = errors.New("no such report")

// nextReportSeq returns the next sequence number of the year of at.
func nextReportSeq(ctx context.Context, q queryer, year int) (int, error) {
	var seq int
	err := q.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) + 1 FROM reports WHERE year = ?", year).Scan(&seq)
	return seq, err
}

// PeekReportNumber returns the number that a report filed at the time at
// would get, without filing one (the answer to a discarded filing).
func (s *Store) PeekReportNumber(ctx context.Context, at time.Time) (string, error) {
	year := at.UTC().Year()
	seq, err := nextReportSeq(ctx, s.db, year)
	if err != nil {
		return "", fmt.Errorf("store: next report number: %w", err)
	}
	return reports.Number(year, seq), nil
}

// CreateReport files a report, as reports.New makes it, under the next
// number of the year of r.CreatedAt (r.Number is ignored), with its first
// event, in one transaction; it returns the report as stored.
func (s *Store) CreateReport(ctx context.Context, r reports.Report) (reports.Report, error) {
	if !reports.ValidKind(r.Kind) || r.Message == "" || r.CreatedAt.IsZero() || len(r.Events) != 1 {
		return reports.Report{}, fmt.Errorf("store: create report: %w: a report needs a kind, a message, a time and its first event", ErrInvalid)
	}
	r.CreatedAt = r.CreatedAt.UTC().Truncate(time.Microsecond)
	r.UpdatedAt = r.CreatedAt
	r.Events[0].At = r.CreatedAt
	year := r.CreatedAt.Year()
	err := s.write(ctx, func(tx *sql.Tx) error {
		seq, err := nextReportSeq(ctx, tx, year)
		if err != nil {
			return err
		}
		r.Number = reports.Number(year, seq)
		ts := authTime(r.CreatedAt)
		res, err := tx.ExecContext(ctx, `INSERT INTO reports (number, year, seq, kind, sensor_id, location, lat, lon,
			message, sender_email, lang, status, public_answer, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.Number, year, seq, r.Kind, nullString(r.SensorID), r.Location, r.Lat, r.Lon,
			r.Message, nullString(r.SenderEmail), r.Lang, r.Status, r.PublicAnswer, ts, ts)
		if err != nil {
			return err
		}
		if r.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		return addReportEvent(ctx, tx, r.ID, 1, r.Events[0])
	})
	if err != nil {
		return reports.Report{}, fmt.Errorf("store: create report: %w", err)
	}
	return r, nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func addReportEvent(ctx context.Context, tx *sql.Tx, id int64, seq int, e reports.Event) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO report_events (report_id, seq, at, status, actor_role, actor, note)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, id, seq, authTime(e.At), e.Status, e.ActorRole, e.Actor, e.Note)
	return err
}

const reportColumns = `id, number, kind, coalesce(sensor_id, ''), location, lat, lon, message,
	coalesce(sender_email, ''), lang, status, public_answer, created_at, updated_at`

func scanReport(r scanner) (reports.Report, error) {
	var out reports.Report
	var lat, lon sql.NullFloat64
	var created, updated string
	err := r.Scan(&out.ID, &out.Number, &out.Kind, &out.SensorID, &out.Location, &lat, &lon, &out.Message,
		&out.SenderEmail, &out.Lang, &out.Status, &out.PublicAnswer, &created, &updated)
	if err != nil {
		return reports.Report{}, err
	}
	if lat.Valid && lon.Valid {
		out.Lat, out.Lon = &lat.Float64, &lon.Float64
	}
	if out.CreatedAt, err = parseAuthTime(created); err != nil {
		return reports.Report{}, fmt.Errorf("report %s: %w", out.Number, err)
	}
	if out.UpdatedAt, err = parseAuthTime(updated); err != nil {
		return reports.Report{}, fmt.Errorf("report %s: %w", out.Number, err)
	}
	return out, nil
}

// reportEvents returns the events of the reports ids, oldest first, by
// report id.
func reportEvents(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, ids []int64) (map[int64][]reports.Event, error) {
	out := map[int64][]reports.Event{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := q.QueryContext(ctx, `SELECT report_id, at, status, actor_role, actor, note FROM report_events
		WHERE report_id IN (?`+strings.Repeat(", ?", len(ids)-1)+`) ORDER BY report_id, seq`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var at string
		var e reports.Event
		if err := rows.Scan(&id, &at, &e.Status, &e.ActorRole, &e.Actor, &e.Note); err != nil {
			return nil, err
		}
		if e.At, err = parseAuthTime(at); err != nil {
			return nil, fmt.Errorf("report event: %w", err)
		}
		out[id] = append(out[id], e)
	}
	return out, rows.Err()
}

// Report returns the report number with its events, or ErrNoReport.
func (s *Store) Report(ctx context.Context, number string) (reports.Report, error) {
	r, err := scanReport(s.db.QueryRowContext(ctx, "SELECT "+reportColumns+" FROM reports WHERE number = ?", number))
	if errors.Is(err, sql.ErrNoRows) {
		return reports.Report{}, fmt.Errorf("store: report %q: %w", number, ErrNoReport)
	}
	if err != nil {
		return reports.Report{}, fmt.Errorf("store: report %q: %w", number, err)
	}
	evs, err := reportEvents(ctx, s.db, []int64{r.ID})
	if err != nil {
		return reports.Report{}, fmt.Errorf("store: report %q: %w", number, err)
	}
	r.Events = evs[r.ID]
	return r, nil
}

// ReportFilter selects reports; zero fields select everything.
type ReportFilter struct {
	Status string // one status
	Kind   string // one kind
	// Limit bounds the number of reports returned; 0 means 500.
	Limit int
}

// ListReports returns the reports that f selects, newest first, with
// their events.
func (s *Store) ListReports(ctx context.Context, f ReportFilter) ([]reports.Report, error) {
	q := "SELECT " + reportColumns + " FROM reports WHERE 1 = 1"
	var args []any
	if f.Status != "" {
		q += " AND status = ?"
		args = append(args, f.Status)
	}
	if f.Kind != "" {
		q += " AND kind = ?"
		args = append(args, f.Kind)
	}
	if f.Limit <= 0 {
		f.Limit = 500
	}
	q += " ORDER BY created_at DESC, id DESC LIMIT ?"
	args = append(args, f.Limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list reports: %w", err)
	}
	defer rows.Close()
	var out []reports.Report
	var ids []int64
	for rows.Next() {
		r, err := scanReport(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list reports: %w", err)
		}
		out = append(out, r)
		ids = append(ids, r.ID)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list reports: %w", err)
	}
	rows.Close()
	evs, err := reportEvents(ctx, s.db, ids)
	if err != nil {
		return nil, fmt.Errorf("store: list reports: %w", err)
	}
	for i := range out {
		out[i].Events = evs[out[i].ID]
	}
	return out, nil
}

// CountReports returns the number of reports by status.
func (s *Store) CountReports(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT status, count(*) FROM reports GROUP BY status")
	if err != nil {
		return nil, fmt.Errorf("store: count reports: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("store: count reports: %w", err)
		}
		out[st] = n
	}
	return out, rows.Err()
}

// UpdateReport changes the report number in one transaction: change
// receives the report as stored and returns it changed, with the event
// that records the change (reports.Apply). An error of change is returned
// as it is, and nothing is written.
func (s *Store) UpdateReport(ctx context.Context, number string, change func(reports.Report) (reports.Report, reports.Event, error)) (reports.Report, error) {
	var out reports.Report
	err := s.write(ctx, func(tx *sql.Tx) error {
		cur, err := scanReport(tx.QueryRowContext(ctx, "SELECT "+reportColumns+" FROM reports WHERE number = ?", number))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNoReport
		}
		if err != nil {
			return err
		}
		evs, err := reportEvents(ctx, tx, []int64{cur.ID})
		if err != nil {
			return err
		}
		cur.Events = evs[cur.ID]
		next, ev, err := change(cur)
		if err != nil {
			return err
		}
		next.UpdatedAt = next.UpdatedAt.UTC().Truncate(time.Microsecond)
		ev.At = next.UpdatedAt
		if _, err := tx.ExecContext(ctx, "UPDATE reports SET status = ?, public_answer = ?, updated_at = ? WHERE id = ?",
			next.Status, next.PublicAnswer, authTime(next.UpdatedAt), cur.ID); err != nil {
			return err
		}
		if err := addReportEvent(ctx, tx, cur.ID, len(cur.Events)+1, ev); err != nil {
			return err
		}
		next.Events = append(cur.Events, ev)
		out = next
		return nil
	})
	if err != nil {
		return reports.Report{}, fmt.Errorf("store: update report %q: %w", number, err)
	}
	return out, nil
}
