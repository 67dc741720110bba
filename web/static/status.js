// Fills the status line from /api/v1/health; the page works without it.
(function () {
  var el = document.getElementById('status');
  if (!el || !window.fetch) return;
  fetch('/api/v1/health', { headers: { 'Accept-Language': 'vi' } })
    .then(function (r) { return r.json(); })
    .then(function (h) {
      var ok = h.status === 'ok';
      el.textContent = (ok ? 'Hoạt động bình thường' : 'Cần chú ý (' + h.status + ')') +
        ' · phiên bản ' + h.version + ' · CSDL ' + h.database.backend +
        (h.database.ok ? '' : ' (không kết nối được)') + ' · ' + h.plugins.length + ' kênh';
      el.className = ok ? 'ok' : 'warn';
    })
    .catch(function () { el.textContent = 'Không đọc được trạng thái máy chủ.'; el.className = 'warn'; });
  var counts = document.getElementById('counts');
  if (!counts) return;
  var n = function (x) { return Number(x).toLocaleString('vi-VN'); };
  fetch('/api/v1/summary')
    .then(function (r) { return r.json(); })
    .then(function (s) {
      var c = s.counts;
      counts.textContent = n(c.agencies) + ' cơ quan, đơn vị · ' + n(c.counters) + ' quầy · ' +
        n(c.officers) + ' cán bộ · ' + n(c.procedures) + ' thủ tục · ' + n(c.dossiers) +
        ' hồ sơ · ' + n(c.responses) + ' lượt đánh giá';
    })
    .catch(function () {});
})();
