// hailong — console.js: reads a chosen file into the import form's text box (the form also
// works by pasting the file's content, without this script).
(function () {
  'use strict';
  document.querySelectorAll('input[type=file][data-into]').forEach(function (input) {
    input.addEventListener('change', function () {
      var file = input.files && input.files[0];
      var target = document.getElementById(input.getAttribute('data-into'));
      if (!file || !target) return;
      var format = document.getElementById('format');
      if (format) format.value = /\.json$/i.test(file.name) ? 'json' : 'csv';
      var reader = new FileReader();
      reader.onload = function () { target.value = reader.result; };
      reader.readAsText(file, 'utf-8');
    });
  });
})();
