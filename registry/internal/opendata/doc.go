// Package opendata writes the public register as open data, and reads it
// back: CSV (RFC 4180) and GeoJSON (RFC 7946) of the entries, and the
// DCAT-AP catalogue record (JSON-LD) that national open-data portals such
// as data.gouv.fr harvest. It has no I/O of its own: it turns
// [registryapi.Sensor] values into bytes and bytes into [Record]s, for
// package httpapi (the exports) and package importer (bulk import).
//
// # CSV
//
// [WriteCSV] writes one line per entry after a header line naming the
// columns ([Columns]), comma-separated, fields in double quotes when they
// hold a comma, a quote or a line break (a quote doubled), CRLF line ends,
// UTF-8 without a byte order mark. The columns cover every field of
// registryapi.Sensor, in this order:
//
//	id, status,
//	name_fr, name_en, category, technology, manufacturer, model,
//	attached_to_fr, attached_to_en, site, tags,
//	accountable_name_fr, accountable_name_en, accountable_siren, accountable_url,
//	accountable_public_authority, operators,
//	public_contact_email, public_contact_url, public_contact_phone,
//	dpo_contact_email, dpo_contact_url, dpo_contact_phone,
//	purposes, description_fr, description_en,
//	quantities, data_types, processing,
//	identifiability, deidentification_method_fr, deidentification_method_en,
//	legal_basis, legal_reference_fr, legal_reference_en,
//	privacy_notice_url, art30_record, dpia_reference,
//	storage, storage_location_fr, storage_location_en, retention, access,
//	open_data, open_data_licence, open_data_url,
//	lat, lon, address, indoor, area, neighbourhood,
//	commissioned_at, decommissioned_at, active_until, version, updated_at, url
//
// A bilingual text is two columns, _fr and _en. The cells:
//
//   - lists of DTPR element ids (technology, purposes, data_types,
//     processing, storage, access): the ids separated by '|', e.g.
//     "air_quality|thermometer";
//   - tags: key=value items separated by '|', sorted by key, e.g.
//     "bay=pmr|zone=gare";
//   - quantities: one item per quantity, separated by '|', each
//     name;unit;min;max;period_s;label_fr;label_en[;aggregation], e.g.
//     "pm10;ug/m3;0;1000;60;Particules PM10;PM10 particulate matter"; an
//     empty min or max is no bound, an empty period_s no period; the
//     aggregation (stats, index, occupancy) is written when the entry sets
//     it; on import the labels may be left out (name;unit;min;max;period_s);
//   - operators: one item per organisation,
//     name_fr;name_en;siren;url;public_authority;
//   - area (a mobile sensor's ring, GeoJSON order): lon;lat positions
//     separated by '|';
//   - inside these cells a backslash escapes the next character, so that
//     '\', '|', ';' and '=' in a value are written '\\', '\|', '\;', '\=';
//   - numbers (lat, lon, min, max) in the shortest decimal form that reads
//     back to the same value, with a decimal point and no exponent;
//   - booleans: true or false (an empty cell reads as false);
//   - times (commissioned_at, decommissioned_at, active_until, updated_at):
//     RFC 3339 in UTC, e.g. 2024-03-18T00:00:00Z; a date (2024-03-18) reads
//     as midnight UTC;
//   - url is the entry's stable public URL; version and updated_at are the
//     register's bookkeeping, which an import never takes from a file.
//
// A spreadsheet runs a cell that starts with '=', '+', '-' or '@' as a
// formula. So that a public file cannot carry one, a text cell that starts
// with one of them (or with a tab or CR) is written with a leading
// apostrophe ("'=HYPERLINK(…)"), which spreadsheets show as text; a text
// cell that starts with an apostrophe followed by one of them or by another
// apostrophe gets one more. Reading removes exactly that apostrophe, so the
// value reads back unchanged. Numbers, booleans and times are not touched:
// a negative latitude stays a number.
//
// [ReadCSV] reads what WriteCSV writes, and also files with any subset of
// the columns in any order (an inventory from another tool), an extra
// [ColumnSourceRef] column, a UTF-8 byte order mark, and LF line ends. It
// refuses a file it cannot read as a whole with a [*FileError] naming the
// line: bad quoting, a line with more or fewer fields than the header, an
// unknown or repeated column, a header without "id", text that is not
// UTF-8. A cell that does not read as its column says is a problem of its
// Record, named by the column. The round trip is exact: WriteCSV then
// ReadCSV gives back the same entries, but for a carriage return inside a
// text, which CSV writes and reads as a line feed.
//
// # GeoJSON
//
// [GeoJSON] is a FeatureCollection with one Feature per entry: its id is
// the sensor id; its geometry a Point [longitude, latitude] (WGS84, RFC
// 7946 order), a Polygon for a mobile sensor's area (closed, at least four
// positions, its exterior ring counterclockwise as RFC 7946's right-hand
// rule says, whatever the order stored), or null for an entry without a
// location; its properties the whole public entry, as the JSON API answers
// it. There is no "crs" member (RFC 7946 is WGS84 only); a foreign member
// "attribution" credits the DTPR taxonomy. [ReadGeoJSON] reads such a file
// back, and an inventory's GeoJSON whose properties are any subset of the
// entry's fields plus "source_ref": the geometry gives the location when
// the properties do not, and must agree with it when they do.
//
// # DCAT-AP
//
// [Catalog] is the catalogue record, in JSON-LD with compact IRIs (dcat,
// dct, foaf, vcard, locn, gsp, rdfs, dcatap, xsd: [Context]). It holds:
//
//   - a dcat:Catalog: dct:title, dct:description, dct:publisher (a
//     foaf:Agent with foaf:name, typed a local authority), dcat:dataset —
//     the properties DCAT-AP 2.1 and 3.0 mark mandatory — and
//     foaf:homepage, dct:language, dct:license, dct:modified, dct:issued,
//     dct:spatial, dcat:themeTaxonomy, dcat:service;
//   - a dcat:Dataset for the register itself, with dct:title and
//     dct:description (mandatory), and dct:identifier, dcat:landingPage
//     (the public register), dct:publisher, dcat:contactPoint (a
//     vcard:Organization with the functional mailbox and contact form,
//     never a person), dcat:keyword, dcat:theme (EU data themes GOVE,
//     REGI), dct:issued, dct:modified, dct:accrualPeriodicity (EU frequency
//     IRREG), dct:spatial (the entries' bounding box and centroid, WKT),
//     dct:language, and three dcat:Distribution — JSON, CSV and GeoJSON —
//     each with dcat:accessURL (mandatory), dcat:downloadURL, dct:format
//     (EU file types), dcat:mediaType (IANA), dct:license, dct:conformsTo,
//     dct:title, dct:description, dct:modified, dcatap:availability;
//   - a dcat:Dataset for the readings of each published entry with open
//     data (open_data and open_data_url): dct:identifier and dcat:landingPage
//     are the entry's stable URL (with #donnees for the dataset), the
//     theme is the category's (ENVI, TRAN, ENER, REGI), dct:temporal runs
//     from commissioning, dct:accrualPeriodicity is CONT, dct:spatial the
//     sensor's place, and its one distribution has the entry's
//     open_data_url as dcat:accessURL and the entry's licence (matched to
//     a known licence's URL when it names one);
//   - a dcat:DataService for the JSON API: dcat:endpointURL,
//     dcat:endpointDescription (the OpenAPI document), dcat:servesDataset.
//
// The register's licence is configurable ([CatalogOptions].Licence), the
// Licence Ouverte 2.0 ([LicenceOuverte]) by default; the publisher is the
// accountable organisation that most entries name unless configured.
//
// # What open data never carries
//
// Everything here is made from the public entries only: no credential or
// hash, no account, no staff name, no source reference. The history of
// changes (who, by name) is not part of an entry.
package opendata
