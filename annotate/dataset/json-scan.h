/* json-scan.h: a small pull scanner over JSON bytes in memory, for large dataset files (a COCO
 * file with a million annotations): no tree is built, unneeded values are skipped in place, and
 * every error names the file, line and column. Internal to annotate/. */
#pragma once

#include <glib.h>

typedef struct
{
  const char *start;
  const char *p;
  const char *end;
  const char *file;    /* for messages */
  int         depth;
  GString    *key;     /* the current member's name (reused: no allocation per key) */
} JsonScan;

void     json_scan_init        (JsonScan    *scan,
                                const char  *data,
                                gsize        len,
                                const char  *file);
void     json_scan_clear       (JsonScan    *scan);
/* "FILE:LINE:COLUMN" of a position. */
char    *json_scan_where       (JsonScan    *scan,
                                const char  *at);
gboolean json_scan_fail        (JsonScan    *scan,
                                const char  *at,
                                GError     **error,
                                const char  *format,
                                ...) G_GNUC_PRINTF (4, 5);

/* The same, for well-formed JSON whose content is wrong (QR_DATASET_ERROR_INVALID). */
gboolean json_scan_invalid     (JsonScan    *scan,
                                const char  *at,
                                GError     **error,
                                const char  *format,
                                ...) G_GNUC_PRINTF (4, 5);

/* Skips white space; returns the next character, or 0 at the end. */
char     json_scan_peek        (JsonScan    *scan);
gboolean json_scan_expect      (JsonScan    *scan,
                                char         c,
                                GError     **error);
/* Returns TRUE and consumes c when it is next. */
gboolean json_scan_accept      (JsonScan    *scan,
                                char         c);
/* A string, unescaped to UTF-8 (caller frees). */
char    *json_scan_string      (JsonScan    *scan,
                                GError     **error);
gboolean json_scan_number      (JsonScan    *scan,
                                double      *value,
                                GError     **error);
gboolean json_scan_skip        (JsonScan    *scan,
                                GError     **error);

/* Iterating an object: call with *first = TRUE; returns FALSE with no error at '}'. *key is
 * valid until the scanner reads the next member name (nested values included). */
gboolean json_scan_next_member (JsonScan    *scan,
                                gboolean    *first,
                                const char **key,
                                GError     **error);
/* Iterating an array: returns FALSE with no error at ']'. */
gboolean json_scan_next_item   (JsonScan    *scan,
                                gboolean    *first,
                                GError     **error);
