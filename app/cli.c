/* cli.c: `quorum <command>`: the one table of commands (which main and --help read), and what the
 * commands share: errors and usage, progress on a terminal, the options every collection command
 * takes, opening a collection's catalog. The commands themselves live by group:
 * cli-collection.c (index, info, thumbs), cli-detection.c (detect, models, devices),
 * cli-review.c (peers, review, eval), cli-datasets.c (import, export), bench*.c (bench). */
#define G_LOG_DOMAIN "quorum-cli"

#include "quorum-config.h"
#include "qr-cli.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

typedef struct
{
  const char *name;
  const char *summary;
  int       (*run) (int argc, char **argv);
} Command;

static int cmd_version (int argc, char **argv);
static int cmd_help (int argc, char **argv);

static const Command commands[] = {
  { "index", "Add a folder's images to its catalog; notice changed, moved and removed files", qr_cli_index },
  { "info", "Counts, classes, models and unreadable files of a collection", qr_cli_info },
  { "thumbs", "Make the thumbnails a collection lacks", qr_cli_thumbs },
  { "detect", "Detect objects: --model NAME|PATH (TF.js, Darknet .cfg, .tflite, Ultralytics .onnx) IMAGE… (JSON lines)", qr_cli_detect },
  { "models", "The collection's models (peers): list, add NAME PATH [--held-out K/N], remove NAME", qr_cli_models },
  { "peers", "Run every peer over a collection: run [--peers centernet,nanodet,centernet-flip,…]", qr_cli_peers },
  { "merge", "Shards' catalogs (peers run --shard K/N) into the collection's: SHARD.sqlite…; then the review queue", qr_cli_merge },
  { "review", "The ranked likely mistakes: list [--kind K] [--top N] (JSON lines); update (store for the app); mark IMAGE… [--unreviewed]", qr_cli_review },
  { "eval", "Each peer against the reviewed labels: AP, precision, recall; peer agreement", qr_cli_eval },
  { "search", "Images ranked for a text: \"TEXT\" [--top N] [--scorer NAME] (JSON lines)", qr_cli_search },
  { "captions", "Captions scored: list [IMAGE], suggest IMAGE, rank IMAGE --candidates FILE, add IMAGE TEXT, train [--epochs N]", qr_cli_captions },
  { "embed", "A CLIP model's embeddings: --model FOLDER IMAGE… | --text \"TEXT\" (JSON lines); --collection DIR stores them for search --scorer clip", qr_cli_embed },
  { "import", "Import labels: --format coco|yolo|voc|csv PATH", qr_cli_import },
  { "export", "Export labels: --format coco|yolo|voc|csv OUT", qr_cli_export },
  { "bench", "Benchmarks: thumbs DIR, import, detect, mistakes (beside a named peer); search (beside FAISS); index, gallery, captions, dmsm, merge (Quorum alone)", qr_cli_bench },
  { "devices", "The compute devices Quorum can use", qr_cli_devices },
  { "version", "Print the version", cmd_version },
  { "help", "Show this help", cmd_help },
};

void
qr_cli_print_usage (FILE *out)
{
  fprintf (out,
           "Usage: quorum [DIR]              open the app (on DIR, or the last collection)\n"
           "       quorum COMMAND [OPTION…]  run a command without a display\n\n"
           "Commands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-9s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\nEvery command that works on a collection takes --collection DIR (default: the\n"
                "current folder) and --db PATH (default: under $XDG_DATA_HOME/quorum).\n"
                "`quorum COMMAND --help` describes a command's options.\n");
}

gboolean
qr_cli_is_command (const char *name)
{
  if (name == NULL)
    return FALSE;
  if (g_str_equal (name, "--help") || g_str_equal (name, "-h") || g_str_equal (name, "--version"))
    return TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (name, commands[i].name))
      return TRUE;
  return FALSE;
}

int
qr_cli_run (int argc, char **argv)
{
  const char *name = argc > 1 ? argv[1] : "help";

  if (g_str_equal (name, "--help") || g_str_equal (name, "-h"))
    name = "help";
  else if (g_str_equal (name, "--version"))
    name = "version";
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (name, commands[i].name))
      return commands[i].run (argc - 1, argv + 1);
  fprintf (stderr, "quorum: unknown command '%s' (see 'quorum --help')\n", name);
  return QR_EXIT_USAGE;
}

int
qr_cli_fail (GError *error)
{
  fprintf (stderr, "quorum: %s\n", error ? error->message : "failed");
  g_clear_error (&error);
  return QR_EXIT_ERROR;
}

int
qr_cli_usage_error (GOptionContext *context, const char *message)
{
  fprintf (stderr, "quorum: %s\n", message);
  if (context != NULL)
    {
      g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);
      fputs (help, stderr);
    }
  return QR_EXIT_USAGE;
}

void
qr_cli_progress_init (QrCliProgress *progress, const char *what, gboolean quiet)
{
  progress->what = what;
  progress->started_us = g_get_monotonic_time ();
  progress->last_print_us = 0;
  progress->enabled = !quiet && isatty (STDERR_FILENO);
}

void
qr_cli_progress_update (guint64 done, guint64 total, gpointer user_data)
{
  QrCliProgress *progress = user_data;
  gint64 now = g_get_monotonic_time ();
  double elapsed = (double) (now - progress->started_us) / G_USEC_PER_SEC;
  double rate = elapsed > 0 ? (double) done / elapsed : 0;

  /* A test hook: die like a killed process right after a committed batch. */
  {
    const char *kill_after = g_getenv ("QUORUM_TEST_KILL_AFTER");
    if (kill_after != NULL && done >= g_ascii_strtoull (kill_after, NULL, 10))
      raise (SIGKILL);
  }

  if (!progress->enabled || (now - progress->last_print_us < 100000 && done < total))
    return;
  progress->last_print_us = now;
  if (total > 0)
    fprintf (stderr, "\r\033[K%s %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " (%.0f%%, %.0f/s, %.0f s left)",
             progress->what, done, total, 100.0 * (double) done / (double) total, rate,
             rate > 0 ? (double) (total - done) / rate : 0.0);
  else
    fprintf (stderr, "\r\033[K%s %" G_GUINT64_FORMAT, progress->what, done);
  fflush (stderr);
}

void
qr_cli_progress_end (QrCliProgress *progress)
{
  if (progress->enabled && progress->last_print_us != 0)
    fprintf (stderr, "\r\033[K");
}

QrCatalog *
qr_cli_open_catalog (const char *dir, const char *db_path, GError **error)
{
  return qr_catalog_open (dir != NULL ? dir : ".", db_path, error);
}

void
qr_cli_common_clear (QrCliCommon *common)
{
  g_free (common->collection);
  g_free (common->db);
  g_strfreev (common->rest);
}

/* positional: how --help names the arguments ("[DIR]", "PATH", "OUT"). */
void
qr_cli_add_common_entries_named (GOptionContext *context, QrCliCommon *common, const char *positional)
{
  GOptionEntry entries[] = {
    { "collection", 'c', 0, G_OPTION_ARG_FILENAME, &common->collection, "The collection folder", "DIR" },
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &common->db, "The catalog file", "PATH" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &common->quiet, "No progress output", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &common->rest, NULL, positional },
    { NULL }
  };
  g_option_context_add_main_entries (context, entries, NULL);
}

void
qr_cli_add_common_entries (GOptionContext *context, QrCliCommon *common)
{
  qr_cli_add_common_entries_named (context, common, "[DIR]");
}

/* Parses; returns -1 to go on, else an exit code. DIR may come as an argument. */
int
qr_cli_parse_collection_command (GOptionContext *context, QrCliCommon *common, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  if (!g_option_context_parse (context, &argc, &argv, &error))
    return qr_cli_usage_error (context, error->message);
  if (common->rest != NULL && common->rest[0] != NULL)
    {
      if (common->rest[1] != NULL || common->collection != NULL)
        return qr_cli_usage_error (context, "give one collection folder");
      common->collection = g_strdup (common->rest[0]);
    }
  return -1;
}

/* "K/N": part K (0-based) of N, N from lowest to highest. */
static gboolean
parse_k_of_n (const char *text, long lowest, long highest, int *part, int *n)
{
  char *end;
  long k, total;
  if (text == NULL)
    return FALSE;
  k = strtol (text, &end, 10);
  if (end == text || *end != '/')
    return FALSE;
  total = strtol (end + 1, &end, 10);
  if (*end != '\0' || total < lowest || total > highest || k < 0 || k >= total)
    return FALSE;
  *part = (int) k;
  *n = (int) total;
  return TRUE;
}

gboolean
qr_cli_parse_shard (const char *text, int *shard, int *n)
{
  return parse_k_of_n (text, 1, 100000, shard, n);
}

char *
qr_cli_shard_db (const char *dir, int shard, int n_shards)
{
  g_autofree char *absolute = g_canonicalize_filename (dir, NULL);
  g_autofree char *resolved = realpath (absolute, NULL);
  g_autofree char *main_db = qr_catalog_default_path (resolved ? resolved : absolute);
  g_autofree char *stem = g_str_has_suffix (main_db, ".sqlite") ? g_strndup (main_db, strlen (main_db) - 7)
                                                                : g_strdup (main_db);
  return g_strdup_printf ("%s-shard-%d-of-%d.sqlite", stem, shard, n_shards);
}

gboolean
qr_cli_parse_fold (const char *text, int *fold, int *n)
{
  return parse_k_of_n (text, 2, 100, fold, n);
}

void
qr_cli_append_json_string (GString *out, const char *s)
{
  g_string_append_c (out, '"');
  for (const char *p = s; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_printf (out, "\\%c", *p);
      else if ((guchar) *p < 0x20)
        g_string_append_printf (out, "\\u%04x", (guchar) *p);
      else
        g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

char *
qr_cli_resolve_model (const char *name, GError **error)
{
  return qr_find_model (name, error);
}

static int
cmd_version (int argc, char **argv)
{
  printf ("quorum %s (GUI %s, CUDA %s)\n", QUORUM_VERSION, QUORUM_GUI ? "on" : "off",
          QUORUM_HAVE_CUDA ? "on" : "off");
  return QR_EXIT_OK;
}

static int
cmd_help (int argc, char **argv)
{
  qr_cli_print_usage (stdout);
  return QR_EXIT_OK;
}

QrImageRecord *
qr_cli_find_image (QrCatalog *catalog, const char *path, GError **error)
{
  const char *root = qr_catalog_get_root (catalog);
  g_autofree char *relative = NULL;

  if (g_path_is_absolute (path))
    {
      g_autofree char *prefix = g_strconcat (root, G_DIR_SEPARATOR_S, NULL);
      if (g_str_has_prefix (path, prefix))
        relative = g_strdup (path + strlen (prefix));
    }
  if (relative == NULL)
    relative = g_strdup (path);
  return qr_catalog_find_image (catalog, relative, error);
}
