/*
 * static: the admin UI's files - embedded into the binary at build time from web/, or read
 * from a folder given with --web-dir while developing it - served at "/" to anyone (the data
 * they show comes through the API, which asks who is calling). Paths that name no file but
 * look like a page of the single-page application ("/jobs/ID") get index.html.
 */
#ifndef SKED_STATIC_H
#define SKED_STATIC_H

#include <stdbool.h>

#include "http.h"

/* Answers req (GET or HEAD) from the UI's files. dir: a folder to read instead of the
 * embedded copy, or NULL. Returns false when req is not the UI's (it is not answered). */
bool static_serve(struct http_req *req, const char *dir);

#endif
