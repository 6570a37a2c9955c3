/* runner.c: detectors run over a collection as resumable catalog runs (qr-runner.h): images
 * decoded once a step for every peer (the next step decoded while this one runs), batches
 * committed one transaction each, peers' networks side by side on a GPU. */
#define G_LOG_DOMAIN "quorum-runner"

#include "quorum-config.h"
#include "qr-runner.h"

#include <string.h>

/* The run's parameters as JSON: what makes two runs comparable (threshold, input size) and the
 * classes the model has, so that peers that lack a class abstain on it (qr-peers.h). */
static char *
run_params (QrDetector *detector, double threshold)
{
  GString *json = g_string_new (NULL);
  g_string_append_printf (json, "{\"threshold\": %.3f, \"input\": %d, \"classes\": [", threshold,
                          qr_detector_get_input_size (detector));
  for (int c = 0; c < qr_detector_get_n_classes (detector); c++)
    {
      const char *name = qr_detector_get_class_name (detector, c);
      g_string_append (json, c ? ", \"" : "\"");
      for (const char *p = name; *p; p++)
        {
          if (*p == '"' || *p == '\\')
            g_string_append_c (json, '\\');
          if ((guchar) *p >= 0x20)
            g_string_append_c (json, *p);
        }
      g_string_append_c (json, '"');
    }
  g_string_append (json, "]}");
  return g_string_free (json, FALSE);
}

/* The decoded images of one step of a run: decoded on the calling thread, or on a thread of its
 * own while the step before runs on the GPU. */
typedef struct
{
  QrCatalog  *catalog;
  GPtrArray  *todo;      /* QrImageRecord */
  guint       first, n;
  QrImage   **images;    /* NULL where unreadable, with errors[j] */
  GError    **errors;
  int         min_side;  /* JPEGs decode as small as this allows (DCT scaling) */
  GThread    *thread;    /* the decoding thread, until joined */
} Step;

static Step *
step_new (QrCatalog *catalog, GPtrArray *todo, guint first, guint n, int min_side)
{
  Step *step = g_new0 (Step, 1);
  step->min_side = min_side;
  step->catalog = catalog;
  step->todo = todo;
  step->first = first;
  step->n = n;
  step->images = g_new0 (QrImage *, n);
  step->errors = g_new0 (GError *, n);
  return step;
}

static gpointer
step_decode (gpointer data)
{
  Step *step = data;

  /* the images of a step are decoded in parallel */
#pragma omp parallel for schedule(dynamic) if (step->n > 1)
  for (guint j = 0; j < step->n; j++)
    {
      QrImageRecord *r = step->todo->pdata[step->first + j];
      g_autofree char *file = qr_catalog_resolve_path (step->catalog, r->path);
      step->images[j] = qr_image_load (file, NULL, step->min_side, &step->errors[j]);
    }
  return NULL;
}

static void
step_free (Step *step)
{
  if (step == NULL)
    return;
  if (step->thread != NULL)
    g_thread_join (step->thread);
  for (guint j = 0; j < step->n; j++)
    {
      g_clear_pointer (&step->images[j], qr_image_free);
      g_clear_error (&step->errors[j]);
    }
  g_free (step->images);
  g_free (step->errors);
  g_free (step);
}

/* A peer in a pass over a collection: its run, the images it still needs, its results for the
 * current step. */
typedef struct
{
  QrPeerRun      *run;
  GPtrArray      *todo;        /* QrImageRecord, owned */
  GHashTable     *needs;       /* image id (gint64 *, into todo's records) */
  GHashTable     *class_ids;   /* detector class + 1 → catalog class id */
  const QrImage **readable;    /* of the current step */
  guint           n_readable;
  GPtrArray      *results;
  GError         *error;
  QrAbortFunc     abort;
  gpointer        abort_data;
} Peer;

static gpointer
peer_detect (gpointer data)
{
  Peer *peer = data;

  if (peer->n_readable > 0)
    peer->results = qr_detector_detect_batch (peer->run->detector, peer->readable, (int) peer->n_readable, peer->abort,
                                              peer->abort_data, &peer->error);
  return NULL;
}

/* Opens (or resumes) a peer's run and lists what it still needs, `only` those when given. */
static gboolean
peer_open (QrCatalog *catalog, Peer *peer, double threshold, GArray *only, GError **error)
{
  QrPeerRun *run = peer->run;
  g_autofree char *params = run_params (run->detector, threshold);
  gint64 model_id = qr_catalog_find_model (catalog, run->name, NULL);
  GError *local_error = NULL;

  memset (&run->stats, 0, sizeof run->stats);
  if (model_id < 0
      && (model_id = qr_catalog_add_model (catalog, run->name, qr_detector_get_format (run->detector), run->path,
                                           error)) < 0)
    return FALSE;
  run->stats.run_id = qr_catalog_find_resumable_run (catalog, model_id, params, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  if (run->stats.run_id < 0 && (run->stats.run_id = qr_catalog_start_run (catalog, model_id, params, error)) < 0)
    return FALSE;
  peer->todo = qr_catalog_list_images_to_run (catalog, run->stats.run_id, error);
  if (peer->todo == NULL)
    return FALSE;
  if (only != NULL)
    {
      /* a selection: the same run, so that Detect over everything later does only the rest */
      g_autoptr (GHashTable) wanted = g_hash_table_new (g_int64_hash, g_int64_equal);
      guint kept = 0;
      for (guint i = 0; i < only->len; i++)
        g_hash_table_add (wanted, &g_array_index (only, gint64, i));
      for (guint i = 0; i < peer->todo->len; i++)
        {
          QrImageRecord *r = peer->todo->pdata[i];
          if (g_hash_table_contains (wanted, &r->id))
            {
              peer->todo->pdata[i] = peer->todo->pdata[kept];
              peer->todo->pdata[kept++] = r;
            }
        }
      g_ptr_array_set_size (peer->todo, kept);
    }
  run->stats.remaining = peer->todo->len;
  peer->needs = g_hash_table_new (g_int64_hash, g_int64_equal);
  for (guint i = 0; i < peer->todo->len; i++)
    g_hash_table_add (peer->needs, &((QrImageRecord *) peer->todo->pdata[i])->id);
  peer->class_ids = g_hash_table_new (g_direct_hash, g_direct_equal);
  return TRUE;
}

static void
peer_clear (Peer *peer)
{
  g_clear_pointer (&peer->needs, g_hash_table_unref);
  g_clear_pointer (&peer->todo, g_ptr_array_unref);
  g_clear_pointer (&peer->class_ids, g_hash_table_unref);
  g_clear_pointer (&peer->results, g_ptr_array_unref);
  g_clear_pointer (&peer->readable, g_free);
  g_clear_error (&peer->error);
}

/* Stores a peer's boxes for one image in its run. */
static gboolean
peer_store (QrCatalog *catalog, Peer *peer, const QrImageRecord *r, const QrImage *image, GArray *found,
            GError **error)
{
  QrDetector *detector = peer->run->detector;

  qr_detections_to_full (found, image);
  for (guint k = 0; k < found->len; k++)
    {
      QrDetection *d = &g_array_index (found, QrDetection, k);
      gint64 cls = GPOINTER_TO_SIZE (g_hash_table_lookup (peer->class_ids, GINT_TO_POINTER (d->class_id + 1)));
      QrBox box = { d->x1, d->y1, d->x2, d->y2 };
      if (cls == 0)
        {
          cls = qr_catalog_ensure_class (catalog, qr_detector_get_class_name (detector, d->class_id), error);
          if (cls < 0)
            return FALSE;
          g_hash_table_insert (peer->class_ids, GINT_TO_POINTER (d->class_id + 1), GSIZE_TO_POINTER ((gsize) cls));
        }
      if (qr_catalog_add_detection (catalog, peer->run->stats.run_id, r->id, cls, d->score, &box, error) < 0)
        return FALSE;
      peer->run->stats.detections++;
    }
  return TRUE;
}

/* The pass behind qr_run_detector_on and qr_run_peers. */
static gboolean
run_peers_on (QrCatalog *catalog, QrPeerRun *runs, guint n_peers, double threshold, GArray *only, QrAbortFunc abort,
              gpointer abort_data, QrProgressFunc progress, gpointer progress_data, GError **error)
{
  g_autofree Peer *peers = g_new0 (Peer, MAX (n_peers, 1));
  g_autoptr (GPtrArray) todo = g_ptr_array_new ();   /* every image some peer needs (borrowed) */
  g_autoptr (GHashTable) seen = g_hash_table_new (g_int64_hash, g_int64_equal);
  const char *env = g_getenv ("QUORUM_RUN_BATCH");
  gboolean on_gpu = n_peers > 0, pipeline, together, stopped = FALSE, ok = FALSE;
  gint64 batch_started;
  guint step, in_batch = 0, done = 0;
  int min_side = 0;
  Step *next = NULL;

  for (guint p = 0; p < n_peers; p++)
    {
      peers[p].run = &runs[p];
      peers[p].abort = abort;
      peers[p].abort_data = abort_data;
      if (!peer_open (catalog, &peers[p], threshold, only, error))
        goto out;
      for (guint i = 0; i < peers[p].todo->len; i++)
        {
          QrImageRecord *r = peers[p].todo->pdata[i];
          if (g_hash_table_add (seen, &r->id))
            g_ptr_array_add (todo, r);
        }
      on_gpu = on_gpu && g_str_has_prefix (qr_model_get_device (qr_detector_get_model (runs[p].detector)), "cuda");
      /* A JPEG much larger than the networks' inputs decodes at 1/2, 1/4 or 1/8 of its size
       * (libjpeg's DCT scaling) as long as its longer side keeps at least the largest input side: a
       * 12-megapixel photo costs a tenth of the work, and the networks see what they would have
       * seen (each resizes to its input anyway); the boxes are scaled back to the full image.
       * QUORUM_DECODE_SCALE=0 decodes whole (each detector then says 0). */
      min_side = MAX (min_side, qr_detector_get_decode_side (runs[p].detector));
    }

  /* Images go through the networks `step` at a time: one on the CPU (batching gains nothing
   * there), 16 on a GPU, where a batch keeps it busy; QUORUM_RUN_BATCH overrides (tests use it).
   * Each image is decoded once for every peer; the images of a step are decoded in parallel and,
   * when steps are batches, the next step's while this one runs (the GPU computes while the CPU
   * decodes; QUORUM_RUN_PIPELINE=0 turns it off). On a GPU the peers' networks run at the same
   * time, each from its own thread on its own stream (QUORUM_PEERS_TOGETHER=0 / 1 says otherwise).
   * Storing is per image: a transaction per 32 images or 2 s, progress at each commit. */
  step = on_gpu ? 16 : 1;
  if (env != NULL && atoi (env) > 0)
    step = (guint) atoi (env);
  pipeline = step > 1 && g_strcmp0 (g_getenv ("QUORUM_RUN_PIPELINE"), "0") != 0;
  env = g_getenv ("QUORUM_PEERS_TOGETHER");
  together = n_peers > 1 && (env != NULL ? g_str_equal (env, "1") : on_gpu);
  for (guint p = 0; p < n_peers; p++)
    peers[p].readable = g_new0 (const QrImage *, step);
  batch_started = g_get_monotonic_time ();
  for (guint i = 0; i < todo->len; i += step)
    {
      guint n = MIN (step, todo->len - i);
      g_autofree guint *k_next = g_new0 (guint, MAX (n_peers, 1));
      g_autofree GThread **threads = g_new0 (GThread *, MAX (n_peers, 1));
      gboolean failed = FALSE;
      Step *cur;

      if (abort != NULL && abort (abort_data))
        {
          stopped = TRUE;
          break;
        }
      if (next != NULL)
        {
          cur = next;
          g_thread_join (cur->thread);
          cur->thread = NULL;
          next = NULL;
        }
      else
        step_decode (cur = step_new (catalog, todo, i, n, min_side));
      if (pipeline && i + step < todo->len)
        {
          next = step_new (catalog, todo, i + step, MIN (step, todo->len - i - step), min_side);
          next->thread = g_thread_new ("quorum-decode", step_decode, next);
        }
      for (guint p = 0; p < n_peers; p++)
        {
          peers[p].n_readable = 0;
          g_clear_pointer (&peers[p].results, g_ptr_array_unref);
          for (guint j = 0; j < n; j++)
            if (cur->images[j] != NULL
                && g_hash_table_contains (peers[p].needs, &((QrImageRecord *) todo->pdata[i + j])->id))
              peers[p].readable[peers[p].n_readable++] = cur->images[j];
          if (together)
            threads[p] = g_thread_new ("quorum-peer", peer_detect, &peers[p]);
          else
            peer_detect (&peers[p]);
        }
      for (guint p = 0; p < n_peers; p++)
        if (threads[p] != NULL)
          g_thread_join (threads[p]);
      for (guint p = 0; p < n_peers && !failed; p++)
        if (peers[p].error != NULL)
          {
            if (g_error_matches (peers[p].error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_CANCELLED))
              stopped = TRUE;
            else
              {
                g_propagate_error (error, g_steal_pointer (&peers[p].error));
                failed = TRUE;
              }
          }
      if (stopped && !failed)
        {
          step_free (cur);
          break;
        }
      for (guint j = 0; j < n && !failed; j++)
        {
          QrImageRecord *r = todo->pdata[i + j];
          if (in_batch == 0 && !qr_catalog_begin (catalog, error))
            {
              failed = TRUE;
              break;
            }
          /* unreadable after all: said in the catalog, and done for every run that wanted it */
          if (cur->images[j] == NULL
              && !qr_catalog_set_image_state (catalog, r->id, QR_IMAGE_STATE_UNREADABLE, cur->errors[j]->message, error))
            failed = TRUE;
          for (guint p = 0; p < n_peers && !failed; p++)
            {
              if (!g_hash_table_contains (peers[p].needs, &r->id))
                continue;
              if (cur->images[j] != NULL
                  && !peer_store (catalog, &peers[p], r, cur->images[j], g_ptr_array_index (peers[p].results, k_next[p]++),
                                 error))
                failed = TRUE;
              else if (!qr_catalog_mark_run_image (catalog, runs[p].stats.run_id, r->id, error))
                failed = TRUE;
              else
                runs[p].stats.images++;
            }
          if (failed)
            break;
          done++;
          in_batch++;
          if (in_batch >= 32 || g_get_monotonic_time () - batch_started > 2 * G_USEC_PER_SEC)
            {
              if (!qr_catalog_commit (catalog, error))
                failed = TRUE;
              in_batch = 0;
              batch_started = g_get_monotonic_time ();
              if (!failed && progress != NULL)
                progress (done, todo->len, progress_data);
            }
        }
      step_free (cur);
      if (failed)
        goto fail;
    }
  step_free (g_steal_pointer (&next));   /* a step decoded ahead of a stop */
  if (in_batch > 0)
    {
      if (!qr_catalog_commit (catalog, error))
        goto fail;
      if (progress != NULL)
        progress (done, todo->len, progress_data);
    }
  /* a stop, or a selection, leaves the runs open for the rest of the collection */
  ok = TRUE;
  for (guint p = 0; p < n_peers; p++)
    {
      runs[p].stats.stopped = stopped;
      if (ok && !qr_catalog_finish_run (catalog, runs[p].stats.run_id, stopped || only != NULL ? "cancelled" : "done",
                                        error))
        ok = FALSE;
    }
  goto out;

fail:
  step_free (g_steal_pointer (&next));
  qr_catalog_rollback (catalog);
  for (guint p = 0; p < n_peers; p++)
    if (runs[p].stats.run_id > 0)
      qr_catalog_finish_run (catalog, runs[p].stats.run_id, "failed", NULL);
out:
  for (guint p = 0; p < n_peers; p++)
    peer_clear (&peers[p]);
  return ok;
}

gboolean
qr_run_peers (QrCatalog *catalog, QrPeerRun *peers, guint n_peers, double threshold, QrAbortFunc abort,
              gpointer abort_data, QrProgressFunc progress, gpointer progress_data, GError **error)
{
  g_return_val_if_fail (n_peers > 0, FALSE);
  return run_peers_on (catalog, peers, n_peers, threshold, NULL, abort, abort_data, progress, progress_data, error);
}

gboolean
qr_run_detector (QrCatalog *catalog, QrDetector *detector, const char *name, const char *path, double threshold,
                 QrAbortFunc abort, gpointer abort_data, QrProgressFunc progress, gpointer progress_data,
                 QrRunStats *stats, GError **error)
{
  return qr_run_detector_on (catalog, detector, name, path, threshold, NULL, abort, abort_data, progress, progress_data,
                             stats, error);
}

gboolean
qr_run_detector_on (QrCatalog *catalog, QrDetector *detector, const char *name, const char *path, double threshold,
                    GArray *only, QrAbortFunc abort, gpointer abort_data, QrProgressFunc progress,
                    gpointer progress_data, QrRunStats *stats, GError **error)
{
  QrPeerRun run = { detector, name, path, { 0 } };
  gboolean ok = run_peers_on (catalog, &run, 1, threshold, only, abort, abort_data, progress, progress_data, error);

  if (stats != NULL)
    *stats = run.stats;
  return ok;
}
