// civisens — the provisioning pages' only script: the "use my position"
// button. The pages work without it (the latitude and longitude are typed);
// with it, the phone's position fills them. Served from the registry
// itself (the Content-Security-Policy allows scripts from 'self' only, no
// inline script); the messages come from the button's data- attributes,
// in the page's language.
(function () {
  "use strict";
  var button = document.getElementById("geo-button");
  if (!button) {
    return;
  }
  var lat = document.getElementById(button.dataset.lat);
  var lon = document.getElementById(button.dataset.lon);
  var status = document.getElementById(button.dataset.status);
  var map = document.getElementById(button.dataset.map);
  if (!lat || !lon || !status) {
    return;
  }
  function say(text) {
    status.textContent = text;
  }
  if (!("geolocation" in navigator)) {
    say(button.dataset.nosupport);
    return;
  }
  function showMap() {
    var la = lat.value.trim().replace(",", "."), lo = lon.value.trim().replace(",", ".");
    if (!map || la === "" || lo === "" || isNaN(Number(la)) || isNaN(Number(lo))) {
      return;
    }
    map.href = "https://www.openstreetmap.org/?mlat=" + la + "&mlon=" + lo + "#map=19/" + la + "/" + lo;
    map.hidden = false;
  }
  lat.addEventListener("change", showMap);
  lon.addEventListener("change", showMap);
  button.hidden = false;
  button.addEventListener("click", function () {
    button.disabled = true;
    say(button.dataset.busy);
    navigator.geolocation.getCurrentPosition(function (pos) {
      lat.value = pos.coords.latitude.toFixed(6);
      lon.value = pos.coords.longitude.toFixed(6);
      say(button.dataset.done.replace("%s", String(Math.round(pos.coords.accuracy))));
      showMap();
      button.disabled = false;
    }, function (err) {
      var words = {1: button.dataset.denied, 2: button.dataset.unavailable, 3: button.dataset.timeout};
      say(words[err.code] || button.dataset.unavailable);
      button.disabled = false;
    }, {enableHighAccuracy: true, timeout: 20000, maximumAge: 0});
  });
}());
