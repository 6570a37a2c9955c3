/* qr-cli.h: the headless command line (`quorum <command>`), which needs no display and builds
 * with the GUI switched off. Exit codes: 0 ok, 1 error (one line on stderr), 2 usage. */
#pragma once

#include <stdio.h>
#include <glib.h>
#include "qr-catalog.h"
#include "qr-indexer.h"
#include "qr-runner.h"

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

/* Options every collection command shares. */
typedef struct
{
  char     *collection;
  char     *db;
  gboolean  quiet;
  char    **rest;
} QrCliCommon;

void     qr_cli_common_clear    (QrCliCommon    *common);
/* --collection, --db, --quiet and the positional arguments; positional: how --help names them
 * ("[DIR]", "PATH", "OUT"). */
void     qr_cli_add_common_entries_named (GOptionContext *context,
                                          QrCliCommon    *common,
                                          const char     *positional);
void     qr_cli_add_common_entries (GOptionContext *context,
                                    QrCliCommon    *common);
/* Parses; returns -1 to go on, else an exit code. DIR may come as an argument. */
int      qr_cli_parse_collection_command (GOptionContext *context,
                                          QrCliCommon    *common,
                                          int             argc,
                                          char          **argv);
/* "K/N": fold K (0-based) of N, N from 2 to 100. */
/* --shard K/N: 0 <= K < N <= 100000. */
gboolean qr_cli_parse_shard     (const char  *text,
                                 int         *shard,
                                 int         *n);
/* A shard's catalog by default: beside the collection's, named "…-shard-K-of-N.sqlite". */
char    *qr_cli_shard_db        (const char  *dir,
                                 int          shard,
                                 int          n_shards);
gboolean qr_cli_parse_fold      (const char  *text,
                                 int         *fold,
                                 int         *n);
/* s as a JSON string, quoted and escaped. */
void     qr_cli_append_json_string (GString    *out,
                                    const char *s);

/* Detectors over a collection in one pass, each as a resumable run of the catalog: Ctrl-C keeps
 * what is done. what: the progress line's word. n_shards > 1: only shard `shard` of the images
 * (qr_shard_of), in a catalog of its own (db, or qr_cli_shard_db). An exit code. */
int      qr_cli_run_collection  (const char  *dir,
                                 const char  *db,
                                 gboolean     quiet,
                                 const char  *what,
                                 QrPeerRun   *runs,
                                 guint        n_peers,
                                 double       threshold,
                                 int          shard,
                                 int          n_shards);
/* --device and --precision into options; FALSE when either is not a known word. */
gboolean qr_cli_parse_device    (const char        *device_text,
                                 const char        *precision_text,
                                 QrDetectorOptions *options);

/* The commands, by group (cli-collection.c, cli-detection.c, cli-review.c, cli-datasets.c). */
int      qr_cli_index           (int     argc,
                                 char  **argv);
int      qr_cli_info            (int     argc,
                                 char  **argv);
int      qr_cli_thumbs          (int     argc,
                                 char  **argv);
int      qr_cli_detect          (int     argc,
                                 char  **argv);
int      qr_cli_models          (int     argc,
                                 char  **argv);
int      qr_cli_bench_merge     (int     argc,
                                 char  **argv);
int      qr_cli_merge           (int     argc,
                                 char  **argv);
int      qr_cli_embed           (int     argc,
                                 char  **argv);
int      qr_cli_devices         (int     argc,
                                 char  **argv);
int      qr_cli_peers           (int     argc,
                                 char  **argv);
int      qr_cli_review          (int     argc,
                                 char  **argv);
int      qr_cli_eval            (int     argc,
                                 char  **argv);
int      qr_cli_search          (int     argc,
                                 char  **argv);
int      qr_cli_captions_train  (int     argc,
                                 char  **argv);
int      qr_cli_captions        (int     argc,
                                 char  **argv);
int      qr_cli_import          (int     argc,
                                 char  **argv);
int      qr_cli_export          (int     argc,
                                 char  **argv);

/* For g_array_sort: two doubles in ascending order. */
int      qr_cli_compare_doubles   (gconstpointer      a,
                                   gconstpointer      b);
/* Runs a reference script's time command (argv[0]: the interpreter, argv[threads_arg]: where its
 * thread count goes, filled in here) and reads its "ms_per_image X" line. PyTorch on T threads is
 * run as a user could: T threads of its own with OpenBLAS on T, and (T > 1) one thread of its own
 * with OpenBLAS on T — on a 2-core machine the second is often the faster, the two pools spinning
 * against each other in the first. The faster is returned, *how saying which; < 0 with error
 * (what names the peer in it). */
double   qr_cli_run_timing_script (const char        **argv,
                                   int                threads_arg,
                                   int                threads,
                                   const char       **how,
                                   const char        *what,
                                   GError           **error);
/* Runs this program (self: its path) with args (NULL-terminated, without argv[0]), its output
 * passed through; FALSE with error when it cannot start or exits with a failure (*status: its
 * wait status). */
gboolean qr_cli_run_self        (const char         *self,
                                 const char *const  *args,
                                 int                *status,
                                 GError            **error);
int      qr_cli_bench_scan      (int     argc,
                                 char  **argv);
int      qr_cli_bench_clip      (int     argc,
                                 char  **argv);
int      qr_cli_bench_detect    (int     argc,
                                 char  **argv);
int      qr_cli_bench_search    (int     argc,
                                 char  **argv);
int      qr_cli_bench_dmsm      (int     argc,
                                 char  **argv);
int      qr_cli_bench_captions  (int     argc,
                                 char  **argv);
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

/* An image of the collection by its path (relative to the collection, or absolute inside it). */
QrImageRecord *qr_cli_find_image (QrCatalog  *catalog,
                                  const char *path,
                                  GError    **error);

G_END_DECLS
