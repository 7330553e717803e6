// map.js draws the map of the register's sensors with Leaflet, from the
// JSON that the page carries (<script type="application/json" id="map-data">,
// built by the server: no extra request). Without Leaflet or without this
// script, the page shows the table of the same sensors, which stays below
// the map as its text alternative.
//
// Markers are coloured by identifiability (DTPR colours, the CSS classes
// ident-…) and carry a letter that the legend explains. Each marker is a
// focusable button named "name – identifiability – letter L" (the letter
// it shows, hidden from screen readers); Enter or a click opens its popup
// (name, identifiability in words, link to the entry), which takes the
// focus; Escape (Leaflet's closeOnEscapeKey) closes it and the focus goes
// back to the marker.
(function () {
  'use strict';

  var holder = document.getElementById('map');
  var dataEl = document.getElementById('map-data');
  if (!holder || !dataEl || typeof window.L === 'undefined') {
    return; // the table below says it all
  }
  var data;
  try {
    data = JSON.parse(dataEl.textContent);
  } catch (e) {
    return;
  }
  if (!data.markers || data.markers.length === 0) {
    return;
  }
  var L = window.L;
  var labels = data.labels || {};

  holder.hidden = false;
  var legend = document.getElementById('map-legend');
  if (legend) {
    legend.hidden = false;
  }
  holder.setAttribute('role', 'region');
  holder.setAttribute('aria-label', labels.map || 'Map');
  var summary = document.getElementById('map-summary');
  if (summary) {
    holder.setAttribute('aria-describedby', summary.id);
  }

  var map = L.map(holder, { scrollWheelZoom: false });
  if (data.tiles) {
    L.tileLayer(data.tiles, {
      maxZoom: 19,
      attribution: data.attribution || ''
    }).addTo(map);
  }

  function text(tag, className, content) {
    var el = document.createElement(tag);
    if (className) {
      el.className = className;
    }
    el.textContent = content;
    return el;
  }

  function popupContent(m) {
    var box = document.createElement('div');
    box.className = 'map-popup';
    var name = document.createElement('p');
    var link = text('a', 'map-popup-link', m.name);
    link.href = m.url;
    name.appendChild(link);
    box.appendChild(name);
    var ident = document.createElement('p');
    ident.appendChild(text('span', 'map-mark ' + m.class, m.mark)).setAttribute('aria-hidden', 'true');
    var identParts = (labels.ident || '%s').split('%s');
    ident.appendChild(document.createTextNode(' ' + identParts[0] + m.words + (identParts[1] || '')));
    box.appendChild(ident);
    box.appendChild(text('p', '', m.category));
    var open = text('a', '', labels.open || m.url);
    open.href = m.url;
    var more = document.createElement('p');
    more.appendChild(open);
    box.appendChild(more);
    return box;
  }

  // The view first: Leaflet adds markers to a map that has one.
  var bounds = data.markers.map(function (m) { return [m.lat, m.lon]; });
  if (bounds.length === 1) {
    map.setView(bounds[0], 17);
  } else {
    map.fitBounds(bounds, { padding: [24, 24], maxZoom: 18 });
  }
  data.markers.forEach(function (m) {
    // The letter repeats, for the eye, what the marker's name says in
    // words: hidden from assistive technologies, as the legend's.
    var letter = text('span', 'map-mark-text', m.mark);
    letter.setAttribute('aria-hidden', 'true');
    var icon = L.divIcon({
      className: 'map-marker ' + m.class,
      html: letter,
      iconSize: [28, 28],
      iconAnchor: [14, 14],
      popupAnchor: [0, -14]
    });
    // The name ends with the marker's visible letter, so that a person
    // who speaks to the computer can name the marker by what they see.
    var parts = (labels.marker || '%s – %s – %s').split('%s');
    var label = parts[0] + m.name + (parts[1] || '') + m.words + (parts[2] || '') + m.mark + (parts[3] || '');
    var marker = L.marker([m.lat, m.lon], { icon: icon, title: label, keyboard: true, riseOnHover: true });
    marker.bindPopup(popupContent(m));
    marker.addTo(map);
    var el = marker.getElement();
    if (el) {
      el.setAttribute('role', 'button');
      el.setAttribute('aria-label', label);
      el.setAttribute('aria-haspopup', 'dialog');
      el.setAttribute('data-sensor', m.id);
    }
    marker.on('popupopen', function (ev) {
      var link = ev.popup.getElement() && ev.popup.getElement().querySelector('.map-popup-link');
      if (link) {
        link.focus();
      }
    });
    // Closing the popup (Escape, its close button) gives the focus back
    // to the marker, unless the person has moved on.
    marker.on('popupclose', function (ev) {
      var pe = ev.popup.getElement();
      var active = document.activeElement;
      var el = marker.getElement();
      if (el && (!active || active === document.body || (pe && pe.contains(active)))) {
        el.focus();
      }
    });
  });

  holder.setAttribute('data-map-ready', String(data.markers.length));
})();
