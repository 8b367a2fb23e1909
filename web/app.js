// sked admin: the single-page application (see web/README).
document.getElementById("app").textContent = "sked";
