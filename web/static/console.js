// hailong — console.js: small helps of the console's forms, which all work without it: reads a
// chosen file into the import form's text box, and checks a survey definition as it is typed.
(function () {
  'use strict';
  document.querySelectorAll('input[type=file][data-into]').forEach(function (input) {
    input.addEventListener('change', function () {
      var file = input.files && input.files[0];
      var target = document.getElementById(input.getAttribute('data-into'));
      if (!file || !target) return;
      var reader = new FileReader();
      if (input.getAttribute('data-encoding') === 'base64') {
        // The file's bytes as they are (a workbook, a TCVN3 or VNI file): the server decodes.
        var name = document.getElementById(input.getAttribute('data-name'));
        if (name) name.value = file.name;
        reader.onload = function () { target.value = String(reader.result).replace(/^[^,]*,/, ''); };
        reader.readAsDataURL(file);
        return;
      }
      var format = document.getElementById('format');
      if (format) format.value = /\.json$/i.test(file.name) ? 'json' : 'csv';
      reader.onload = function () { target.value = reader.result; };
      reader.readAsText(file, 'utf-8');
    });
  });

  // The survey editor: the definition is checked by the server a moment after each change.
  var editor = document.querySelector('textarea[data-check]');
  var live = document.getElementById('live-check');
  var csrf = document.querySelector('input[name=csrf]');
  if (editor && live && csrf) {
    var timer = null;
    var lang = document.documentElement.lang || 'vi';
    var check = function () {
      fetch(editor.getAttribute('data-check'), {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf.value,
                   'Accept-Language': lang },
        body: JSON.stringify({ definition: editor.value })
      }).then(function (r) { return r.json(); }).then(function (result) {
        live.textContent = '';
        if (result.valid) {
          live.className = 'live ok';
          live.textContent = live.getAttribute('data-ok') ||
            (lang === 'en' ? 'Valid: ' + result.questions + ' questions.'
                           : 'Hợp lệ: ' + result.questions + ' câu hỏi.');
          return;
        }
        live.className = 'live bad';
        var list = document.createElement('ul');
        (result.errors || []).slice(0, 20).forEach(function (e) {
          var item = document.createElement('li');
          item.textContent = (e.field ? e.field + ': ' : '') + e.detail;
          list.appendChild(item);
        });
        live.appendChild(list);
      }).catch(function () { /* the check button still works */ });
    };
    editor.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(check, 600);
    });
  }
})();
