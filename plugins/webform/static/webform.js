// hailong — webform.js: small progressive enhancements of the survey pages. Everything works
// without it: the server decides which questions are asked and checks every answer.
(function () {
  'use strict';
  var form = document.querySelector('form[method="post"]');

  // Questions whose condition is an answer on this same page: hidden while it does not hold
  // (their answers are then not sent, as the server would ignore them).
  var dependents = Array.prototype.slice.call(document.querySelectorAll('[data-show-if]'));
  function chosen(questionId) {
    var box = document.getElementById(questionId);
    if (!box) return [];
    return Array.prototype.slice.call(box.querySelectorAll('input:checked')).map(function (i) {
      return i.value;
    });
  }
  function update() {
    dependents.forEach(function (q) {
      var wanted = q.getAttribute('data-show-values').split(' ');
      var on = chosen(q.getAttribute('data-show-if')).some(function (v) {
        return wanted.indexOf(v) >= 0;
      });
      q.hidden = !on;
      Array.prototype.forEach.call(q.querySelectorAll('input, textarea'), function (i) {
        i.disabled = !on;
      });
      var hint = q.querySelector('.condition');
      if (hint) hint.hidden = true;  // the question appears and disappears by itself
    });
  }
  if (form && dependents.length) {
    form.addEventListener('change', update);
    update();
  }

  // After a failed check the error summary takes the focus, so it is read out first.
  var summary = document.getElementById('error-summary');
  if (summary) summary.focus();

  // One press sends once: a second press while the page loads would only repeat it.
  if (form) {
    form.addEventListener('submit', function (e) {
      var button = e.submitter;
      if (form.getAttribute('data-sent')) { e.preventDefault(); return; }
      form.setAttribute('data-sent', '1');
      if (button && button.name) {
        // A disabled button is not sent: carry its value in a hidden field instead.
        var carry = document.createElement('input');
        carry.type = 'hidden';
        carry.name = button.name;
        carry.value = button.value;
        form.appendChild(carry);
        setTimeout(function () { button.disabled = true; }, 0);
      }
    });
  }
})();
