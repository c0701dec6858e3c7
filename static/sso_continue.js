// Single sign-on: post the identity provider's answer on from this site's own page (see templates/sso/continue.html).
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("sso-continue");
  if (form) { form.submit(); }
});
