/* qr-cli.h: the headless command line (`quorum <command>`), which needs no display and builds
 * with the GUI switched off. Exit codes: 0 ok, 1 error (one line on stderr), 2 usage. */
#pragma once

#include <stdio.h>
#include <glib.h>
#include "qr-catalog.h"
#include "qr-indexer.h"

G_BEGIN_DECLS

enum
{
  QR_EXIT_OK = 0,
  QR_EXIT_ERROR = 1,
  QR_EXIT_USAGE = 2,
};

gboolean qr_cli_is_command   (const char *name);
int      qr_cli_run          (int         argc,
                              char      **argv);
void     qr_cli_print_usage  (FILE       *out);

/* Shared by the commands. */
typedef struct
{
  const char *what;
  gint64      started_us;
  gint64      last_print_us;
  gboolean    enabled;
} QrCliProgress;

void     qr_cli_progress_init   (QrCliProgress *progress,
                                 const char    *what,
                                 gboolean       quiet);
void     qr_cli_progress_update (guint64        done,
                                 guint64        total,
                                 gpointer       user_data);
void     qr_cli_progress_end    (QrCliProgress *progress);

int      qr_cli_fail            (GError       *error);
int      qr_cli_usage_error     (GOptionContext *context,
                                 const char     *message);
QrCatalog *qr_cli_open_catalog  (const char  *dir,
                                 const char  *db_path,
                                 GError     **error);

/* A model name (centernet, nanodet) or a model.json path → the file to load. */
char    *qr_cli_resolve_model   (const char  *name,
                                 GError     **error);

int      qr_cli_bench_mistakes  (int     argc,
                                 char  **argv);
int      qr_cli_bench           (int     argc,
                                 char  **argv);
int      qr_cli_bench_gallery   (int     argc,
                                 char  **argv);
/* A 64×48 JPEG of seeded noise (every seed a different file). */
gboolean qr_bench_write_small_jpeg (const char *path,
                                    guint       seed,
                                    GError    **error);

G_END_DECLS
