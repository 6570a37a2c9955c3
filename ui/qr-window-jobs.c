/* qr-window-jobs.c: the window's background jobs, one at a time on the scheduler (qr-jobs.h):
 * index then thumbnails (on opening a collection and F5), Detect (Ctrl+R, over the collection or
 * the gallery's selection, as a resumable catalog run), Update Review Queue, Train Caption Model
 * (backbone features, then epochs, each saved; the Caption Model window follows). Each opens its own
 * catalog connection on its worker; progress reaches the job bar coalesced, and the end
 * refreshes the gallery, the sidebar and the boxes on screen, with a toast. */
#define G_LOG_DOMAIN "quorum-window"

#include "qr-window-private.h"
#include "qr-runner.h"
#include "qr-indexer.h"
#include "qr-thumbnailer.h"
#include "qr-review.h"
#include "qr-scorer.h"
#include "qr-caption-model.h"
#include "qr-scorer.h"
#include "qr-caption-model-window.h"

#include <glib/gi18n.h>
#include <math.h>

typedef enum
{
  JOB_PHASE_INDEX,
  JOB_PHASE_INDEXED,   /* indexing done: the gallery reloads */
  JOB_PHASE_THUMBS,
  JOB_PHASE_DETECT,
  JOB_PHASE_FEATURES,  /* the caption model's backbone features: images */
  JOB_PHASE_TRAIN,     /* its epochs */
  JOB_PHASE_EMBED,     /* a CLIP model's image embeddings: images */
} JobPhase;

typedef struct
{
  char     *root;
  char     *db_path;
  QrWindow *window;   /* kept alive by the task's source object */
  JobPhase  phase;
  /* Detect: read from the preferences when the job starts */
  GArray   *only;     /* image ids, NULL: the whole collection */
  char     *model;
  double    threshold;
  int       threads;
  char     *device;
  int       thumbnail_size;   /* 0: the default */
  /* Train Caption Model */
  int       epochs;
  gboolean  restart;
  char     *trained_on;   /* where its last epoch trained (QrCaptionEpoch's device) */
  /* Compute CLIP Embeddings: the model's folder */
  char     *clip_dir;
  QrJob    *handle;   /* set by the worker when it starts: where reports go */
} Job;

static void
job_free (Job *job)
{
  g_free (job->root);
  g_free (job->db_path);
  g_free (job->model);
  g_free (job->device);
  g_free (job->trained_on);
  g_free (job->clip_dir);
  if (job->only != NULL)
    g_array_unref (job->only);
  g_free (job);
}

/* On the main loop, coalesced by the scheduler (qr-jobs.h): the job bar. */
static void
on_job_progress (QrJob *qjob, int phase, guint64 done, guint64 total, gpointer data)
{
  QrWindow *self = data;
  const char *label = NULL, *unit = _("images");

  switch ((JobPhase) phase)
    {
    case JOB_PHASE_INDEX:
      label = _("Indexing…");
      break;
    case JOB_PHASE_INDEXED:
      qr_job_bar_set_phase (self->job_bar, phase);
      qr_image_list_reload (self->images, NULL);
      qr_window_update_subtitle (self);
      qr_window_show_gallery_or_empty (self);
      return;
    case JOB_PHASE_THUMBS:
      label = _("Making thumbnails…");
      qr_image_list_thumbnails_changed (self->images);
      break;
    case JOB_PHASE_DETECT:
      label = _("Detecting objects…");
      break;
    case JOB_PHASE_FEATURES:
      label = _("Computing image features…");
      break;
    case JOB_PHASE_TRAIN:
      label = _("Training the caption model…");
      unit = _("epochs");
      break;
    case JOB_PHASE_EMBED:
      label = _("Computing CLIP embeddings…");
      break;
    }
  qr_job_bar_progress (self->job_bar, phase, label, unit, done, total);
  if (self->caption_window != NULL && (phase == JOB_PHASE_FEATURES || phase == JOB_PHASE_TRAIN))
    {
      g_autofree char *status = phase == JOB_PHASE_FEATURES
                                  ? g_strdup_printf (_("Computing image features: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT),
                                                     done, total)
                                  : g_strdup_printf (_("Training: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " epochs done"),
                                                     done, total);
      qr_caption_model_window_refresh (self->caption_window, TRUE, status);
    }
}

static void
post_progress (Job *job, JobPhase phase, guint64 done, guint64 total)
{
  qr_job_report (job->handle, (int) phase, done, total);
}

static void
index_progress (guint64 done, guint64 total, gpointer data)
{
  post_progress (data, JOB_PHASE_INDEX, done, total);
}

static void
thumbs_progress (guint64 done, guint64 total, gpointer data)
{
  post_progress (data, JOB_PHASE_THUMBS, done, total);
}

static char *
run_job (QrJob *qjob, gpointer data, GCancellable *cancellable, GError **error)
{
  Job *job = data;
  g_autoptr (QrCatalog) catalog = NULL;
  QrIndexStats istats;
  QrThumbnailStats tstats;
  QrThumbnailOptions options;

  job->handle = qjob;
  catalog = qr_catalog_open (job->root, job->db_path, error);
  if (catalog == NULL)
    return NULL;
  post_progress (job, JOB_PHASE_INDEX, 0, 0);
  if (!qr_index_collection (catalog, NULL, &istats, index_progress, job, cancellable, error))
    {
      post_progress (job, JOB_PHASE_INDEXED, 0, 0);
      return NULL;
    }
  post_progress (job, JOB_PHASE_INDEXED, 0, 0);
  qr_thumbnail_options_init (&options);
  options.max_side = job->thumbnail_size > 0 ? job->thumbnail_size : options.max_side;
  post_progress (job, JOB_PHASE_THUMBS, 0, 0);
  if (!qr_thumbnails_update (catalog, &options, &tstats, thumbs_progress, job, cancellable, error))
    return NULL;
  post_progress (job, JOB_PHASE_THUMBS, tstats.made, tstats.made);
  if (istats.bad_names > 0)
    return g_strdup_printf (_("%u images: %u new, %u changed, %u removed · %u thumbnails made · %u skipped: names not "
                              "UTF-8 (%s)"), istats.seen, istats.added + istats.moved, istats.changed, istats.removed,
                            tstats.made, istats.bad_names, istats.bad_name_example);
  return g_strdup_printf (_("%u images: %u new, %u changed, %u removed · %u thumbnails made"), istats.seen,
                          istats.added + istats.moved, istats.changed, istats.removed, tstats.made);
}

static gboolean
job_cancelled (gpointer data)
{
  return g_cancellable_is_cancelled (data);
}

static void
detect_progress (guint64 done, guint64 total, gpointer data)
{
  post_progress (data, JOB_PHASE_DETECT, done, total);
}

/* Detect: CenterNet over the collection as a catalog run; a cancel keeps the finished images. */
/* How many images a detect job covers: those chosen, or the readable images of the collection. */
static guint
n_images (QrCatalog *catalog, GArray *only)
{
  QrCatalogStats stats;
  if (only != NULL)
    return only->len;
  return qr_catalog_get_stats (catalog, &stats, NULL) ? (guint) stats.images_ok : 0;
}

static char *
run_detect_job (QrJob *qjob, gpointer data, GCancellable *cancellable, GError **error)
{
  Job *job = data;
  g_autoptr (QrCatalog) catalog = NULL;
  g_autoptr (QrDetector) detector = NULL;
  g_autofree char *path = NULL;
  QrRunStats stats;
  QrDetectorOptions options;

  job->handle = qjob;
  /* by default one core is left to the main loop and its drawing */
  qr_detector_options_init (&options);
  options.n_threads = job->threads > 0 ? job->threads : MAX (1, (int) g_get_num_processors () - 1);
  options.score_threshold = (float) job->threshold;
  if (job->device == NULL || !qr_device_parse (job->device, &options.device))
    options.device = QR_DEVICE_AUTO;
  catalog = qr_catalog_open (job->root, job->db_path, error);
  if (catalog == NULL || (path = qr_find_model (job->model, error)) == NULL
      || (detector = qr_detector_load (path, &options, error)) == NULL)
    return NULL;
  post_progress (job, JOB_PHASE_DETECT, 0, 0);
  if (!qr_run_detector_on (catalog, detector, job->model, path, job->threshold, job->only, job_cancelled, cancellable,
                           detect_progress, job, &stats, error))
    return NULL;
  if (stats.stopped)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
      return NULL;
    }
  if (stats.images == 0 && stats.remaining == 0)
    return g_strdup_printf (_("%s: all %u images already done"), job->model, n_images (catalog, job->only));
  /* the review queue follows the newest runs */
  {
    gint64 items = qr_review_update (catalog, NULL, NULL);
    if (items >= 0)
      return g_strdup_printf (_("%s: %u images, %u detections; %" G_GINT64_FORMAT " review items"), job->model,
                              stats.images, stats.detections, items);
  }
  return g_strdup_printf (_("%s: %u images, %u detections"), job->model, stats.images, stats.detections);
}

static void
features_progress (guint64 done, guint64 total, gpointer data)
{
  post_progress (data, JOB_PHASE_FEATURES, done, total);
}

static void
epoch_done (const QrCaptionEpoch *epoch, gpointer data)
{
  Job *job = data;

  /* the worker's thread, as the job's end that reads it */
  if (epoch->device != NULL && g_strcmp0 (job->trained_on, epoch->device) != 0)
    {
      g_free (job->trained_on);
      job->trained_on = g_strdup (epoch->device);
    }
  /* the model's epochs, then each out-of-fold judge's */
  post_progress (data, JOB_PHASE_TRAIN, (guint64) ((epoch->judge + 1) * epoch->epochs + epoch->epoch),
                 (guint64) ((1 + epoch->judges) * epoch->epochs));
}

/* Train Caption Model: the backbone features of images that have none, then the epochs (or the
 * rest of an unfinished run). A stop keeps the features and the finished epochs. */
static char *
run_caption_job (QrJob *qjob, gpointer data, GCancellable *cancellable, GError **error)
{
  Job *job = data;
  g_autoptr (QrCatalog) catalog = NULL;
  g_autoptr (GError) local = NULL;
  g_autofree char *backbone = NULL;
  QrCaptionTrainOptions options;
  QrCatalogStats stats;
  QrDevice device = QR_DEVICE_AUTO;
  guint computed = 0, failed = 0;
  gint64 model_id;

  job->handle = qjob;
  catalog = qr_catalog_open (job->root, job->db_path, error);
  if (catalog == NULL || !qr_catalog_get_stats (catalog, &stats, error))
    return NULL;
  /* said before minutes of features are spent */
  if (stats.captions < QR_CAPTION_MODEL_MIN_CAPTIONS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   _("The caption model needs at least %d captions; this collection has %" G_GINT64_FORMAT),
                   QR_CAPTION_MODEL_MIN_CAPTIONS, stats.captions);
      return NULL;
    }
  if (job->device != NULL)
    qr_device_parse (job->device, &device);
  if ((backbone = qr_find_model (QR_CAPTION_MODEL_BACKBONE, error)) == NULL)
    return NULL;
  post_progress (job, JOB_PHASE_FEATURES, 0, 0);
  if (!qr_caption_features_compute (catalog, backbone, device, job_cancelled, cancellable, features_progress, job,
                                    &computed, &failed, &local))
    {
      if (g_error_matches (local, QR_ENGINE_ERROR, QR_ENGINE_ERROR_CANCELLED) || g_cancellable_is_cancelled (cancellable))
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
      else
        g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  qr_caption_train_options_init (&options);
  options.epochs = job->epochs > 0 ? job->epochs : options.epochs;
  options.restart = job->restart;
  options.device = device;   /* Preferences' device: the backbone's, and the training's when it says CUDA */
  post_progress (job, JOB_PHASE_TRAIN, 0, (guint64) ((1 + options.judges) * options.epochs));
  model_id = qr_caption_model_train (catalog, &options, job_cancelled, cancellable, epoch_done, job, &local);
  if (model_id < 0)
    {
      if (g_error_matches (local, QR_ENGINE_ERROR, QR_ENGINE_ERROR_CANCELLED))
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
      else
        g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  {
    g_autoptr (QrTextModelRecord) record = qr_catalog_get_text_model (catalog, QR_CAPTION_MODEL_KIND, NULL);
    g_autofree char *where = job->trained_on == NULL || g_str_equal (job->trained_on, "cpu")
                               ? g_strdup (_("on the CPU")) : g_strdup_printf (_("on %s"), job->trained_on);
    return g_strdup_printf (_("Caption model trained: %d epochs %s (%u images' features computed%s)"),
                            record ? record->epoch : options.epochs, where, computed,
                            failed ? _(", some images unreadable") : "");
  }
}

static void
embed_progress (guint64 done, guint64 total, gpointer data)
{
  post_progress (data, JOB_PHASE_EMBED, done, total);
}

/* Compute CLIP Embeddings: every readable image that lacks the model's embedding gets it, kept in
 * batches; a stop keeps what is done and the next run goes on from there. */
static char *
run_clip_job (QrJob *qjob, gpointer data, GCancellable *cancellable, GError **error)
{
  Job *job = data;
  g_autoptr (QrCatalog) catalog = NULL;
  g_autoptr (GError) local = NULL;
  g_autofree char *name = g_path_get_basename (job->clip_dir);
  QrDevice device = QR_DEVICE_AUTO;
  guint computed = 0, failed = 0;

  job->handle = qjob;
  catalog = qr_catalog_open (job->root, job->db_path, error);
  if (catalog == NULL)
    return NULL;
  if (job->device != NULL)
    qr_device_parse (job->device, &device);
  post_progress (job, JOB_PHASE_EMBED, 0, 0);
  if (!qr_clip_embed_collection (catalog, job->clip_dir, device, embed_progress, job, job_cancelled, cancellable,
                                 &computed, &failed, &local))
    {
      if (g_error_matches (local, QR_ENGINE_ERROR, QR_ENGINE_ERROR_CANCELLED) || g_cancellable_is_cancelled (cancellable))
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
      else
        g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  if (failed > 0)
    return g_strdup_printf (_("CLIP embeddings (%s): %u images, %u unreadable · search with the CLIP scorer"), name,
                            computed, failed);
  return g_strdup_printf (_("CLIP embeddings (%s): %u images · search with the CLIP scorer"), name, computed);
}

/* On the main loop, once, after the job's last report. */
static void
on_job_done (QrJob *qjob, const char *summary, const GError *error, gpointer data)
{
  QrWindow *self = QR_WINDOW (data);
  GCancellable *cancellable = qr_job_get_cancellable (qjob);

  if (cancellable == self->job_cancellable)
    {
      g_clear_object (&self->job_cancellable);
      qr_job_bar_finish (self->job_bar);
      gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.cancel-job", FALSE);
      if (self->job_stalls != NULL)
        {
          self->last_job_stall_us = qr_stall_monitor_get_longest_us (self->job_stalls);
          g_debug ("main loop during the job: longest stall %.1f ms, %u over 50 ms",
                   (double) self->last_job_stall_us / 1000.0, qr_stall_monitor_get_n_over_50ms (self->job_stalls));
          g_clear_pointer (&self->job_stalls, qr_stall_monitor_free);
        }
    }
  qr_image_list_thumbnails_changed (self->images);
  qr_image_list_reload (self->images, NULL);   /* new model boxes: badge counts */
  qr_viewer_page_forget_scorer (self->viewer);   /* and new consensus for captions */
  qr_window_update_subtitle (self);
  qr_window_show_gallery_or_empty (self);
  if (qr_window_is_viewing (self))
    {
      /* New detections: redraw the boxes of the image on screen, found again by id (the reload
         may have moved it, or taken it out of the view: then J/K go on from where it was) */
      guint position = qr_image_list_find (self->images, self->viewer_image_id);
      if (position != G_MAXUINT)
        self->viewer_position = position;
      qr_viewer_page_reload_boxes (self->viewer);
    }
  if (self->caption_window != NULL)
    qr_caption_model_window_refresh (self->caption_window, self->job_cancellable != NULL, NULL);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    qr_window_toast (self, _("Cancelled: what was done is kept"));
  else if (error != NULL)
    qr_window_toast (self, error->message);
  else if (summary != NULL)
    qr_window_toast (self, summary);
}

/* Update Review Queue: peer pressure over every model's newest run and the labels, stored. */
static char *
run_review_job (QrJob *qjob, gpointer data, GCancellable *cancellable, GError **error)
{
  Job *job = data;
  g_autoptr (QrCatalog) catalog = NULL;
  gint64 items;

  job->handle = qjob;
  catalog = qr_catalog_open (job->root, job->db_path, error);
  if (catalog == NULL || (items = qr_review_update (catalog, NULL, error)) < 0)
    return NULL;
  return g_strdup_printf (_("Review queue: %" G_GINT64_FORMAT " items"), items);
}

/* Cancelled work returns within a network node or an image; 30 s is a bound, not an estimate. */
void
qr_window_stop_workers (void)
{
  if (!qr_jobs_wait (TRUE, 30 * G_USEC_PER_SEC))
    g_warning ("%u background jobs still running after 30 s", qr_jobs_running ());
}

static void
start_job_with (QrWindow *self, QrJobFunc func, const char *label)
{
  Job *job;
  g_autoptr (QrJob) handle = NULL;

  if (self->catalog == NULL || self->disposing)
    return;
  if (self->job_cancellable != NULL)
    g_cancellable_cancel (self->job_cancellable);
  g_clear_object (&self->job_cancellable);
  self->job_cancellable = g_cancellable_new ();

  job = g_new0 (Job, 1);
  job->root = g_strdup (qr_catalog_get_root (self->catalog));
  job->db_path = g_strdup (qr_catalog_get_db_path (self->catalog));
  job->window = self;
  job->model = self->settings ? g_settings_get_string (self->settings, "detect-model") : g_strdup ("centernet");
  job->threshold = self->settings ? g_settings_get_double (self->settings, "detect-threshold") : 0.25;
  job->threads = self->settings ? g_settings_get_int (self->settings, "cpu-threads") : 0;
  job->device = self->settings ? g_settings_get_string (self->settings, "device") : g_strdup ("auto");
  job->only = g_steal_pointer (&self->detect_only);
  job->thumbnail_size = self->settings ? g_settings_get_int (self->settings, "thumbnail-size") : 0;
  job->epochs = self->next_caption_epochs;
  job->restart = self->next_caption_restart;
  self->next_caption_epochs = 0;
  self->next_caption_restart = FALSE;
  job->clip_dir = g_steal_pointer (&self->next_clip_dir);

  qr_job_bar_start (self->job_bar, label);
  gtk_widget_set_visible (GTK_WIDGET (self->detect_button), FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.cancel-job", TRUE);
  g_clear_pointer (&self->job_stalls, qr_stall_monitor_free);
  self->job_stalls = qr_stall_monitor_new ();
  /* the job keeps the window alive until its end is delivered */
  handle = qr_job_start ("quorum-job", func, job, (GDestroyNotify) job_free, self->job_cancellable, on_job_progress,
                         on_job_done, g_object_ref (self), g_object_unref);
}

void
qr_window_start_index (QrWindow *self)
{
  start_job_with (self, run_job, _("Indexing…"));
}

void
qr_window_start_detect (QrWindow *self, const char *label)
{
  start_job_with (self, run_detect_job, label);
}

void
qr_window_start_review_update (QrWindow *self)
{
  start_job_with (self, run_review_job, _("Updating the review queue…"));
}

void
qr_window_start_caption_training (QrWindow *self, int epochs, gboolean restart)
{
  self->next_caption_epochs = epochs;
  self->next_caption_restart = restart;
  start_job_with (self, run_caption_job, _("Training the caption model…"));
  if (self->caption_window != NULL)
    qr_caption_model_window_refresh (self->caption_window, self->job_cancellable != NULL,
                                     _("Starting…"));
}

void
qr_window_start_clip_embedding (QrWindow *self, const char *dir)
{
  g_free (self->next_clip_dir);
  self->next_clip_dir = g_strdup (dir);
  start_job_with (self, run_clip_job, _("Computing CLIP embeddings…"));
}

gboolean
qr_window_is_busy (QrWindow *self)
{
  return self->job_cancellable != NULL;
}

gint64
qr_window_get_last_job_stall_us (QrWindow *self)
{
  return self->last_job_stall_us;
}

/* Search (Ctrl+F): the collection ranked for a text on a worker with its own connection; a new
 * search cancels the one running. */

typedef struct
{
  char *db_path, *text, *scorer;
} SearchJob;

typedef struct
{
  GArray *ids;      /* gint64 */
  GArray *scores;   /* double */
  char   *status;
} SearchResult;

static void
search_job_free (SearchJob *job)
{
  g_free (job->db_path);
  g_free (job->text);
  g_free (job->scorer);
  g_free (job);
}

static void
search_result_free (SearchResult *r)
{
  g_clear_pointer (&r->ids, g_array_unref);
  g_clear_pointer (&r->scores, g_array_unref);
  g_free (r->status);
  g_free (r);
}

static void
search_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  SearchJob *job = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (QrCatalog) catalog = qr_catalog_open_existing (job->db_path, &error);
  g_autoptr (QrScorer) scorer = catalog ? qr_scorer_new (catalog, job->scorer, &error) : NULL;
  QrScorerText *text = scorer ? qr_scorer_prepare (scorer, job->text, &error) : NULL;
  g_autoptr (GArray) hits = text ? qr_search (scorer, text, 0, cancellable, &error) : NULL;
  SearchResult *r;

  if (hits == NULL)
    {
      if (text != NULL)
        qr_scorer_text_free (scorer, text);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  r = g_new0 (SearchResult, 1);
  r->ids = g_array_sized_new (FALSE, FALSE, sizeof (gint64), hits->len);
  r->scores = g_array_sized_new (FALSE, FALSE, sizeof (double), hits->len);
  for (guint i = 0; i < hits->len; i++)
    {
      QrSearchHit *h = &g_array_index (hits, QrSearchHit, i);
      g_array_append_val (r->ids, h->image_id);
      g_array_append_val (r->scores, h->score);
    }
  {
    g_autoptr (GString) status = g_string_new (NULL);
    /* unknown words first: they are what a person must read */
    for (guint i = 0; i < text->unknown->len; i++)
      g_string_append_printf (status, "%s%s", i ? ", " : _("Unknown words: "), (char *) text->unknown->pdata[i]);
    if (status->len > 0)
      g_string_append (status, " · ");
    g_string_append_printf (status, _("%u images ranked"), hits->len);
    r->status = g_string_free (g_steal_pointer (&status), FALSE);
  }
  qr_scorer_text_free (scorer, text);
  g_task_return_pointer (task, r, (GDestroyNotify) search_result_free);
}

static void
search_ready (GObject *source, GAsyncResult *result, gpointer data)
{
  QrWindow *self = QR_WINDOW (source);
  g_autoptr (GError) error = NULL;
  SearchResult *r = g_task_propagate_pointer (G_TASK (result), &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&self->search_cancellable);
  if (r == NULL)
    {
      qr_gallery_page_set_search_status (self->gallery, error->message);
      return;
    }
  if (!qr_image_list_set_search (self->images, r->ids, r->scores, &error))
    qr_gallery_page_set_search_status (self->gallery, error->message);
  else
    {
      qr_gallery_page_set_search_status (self->gallery, r->status);
      qr_gallery_page_scroll_to (self->gallery, 0);
      qr_window_update_subtitle (self);
    }
  search_result_free (r);
}

/* Ctrl+F by file name or by class: a filter (no ranking, no scores) of the view shown, read on
 * this thread (one indexed query). */
static void
filter_search (QrWindow *self, const char *text, gboolean by_class)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) ids = NULL;
  g_autoptr (GArray) scores = NULL;
  g_autofree char *status = NULL;
  g_autofree char *wanted = g_strstrip (g_strdup (text));

  if (by_class)
    {
      g_autoptr (GHashTable) names = qr_catalog_class_names (self->catalog, &error);
      GHashTableIter iter;
      gpointer key, value;
      gint64 class_id = 0;
      if (names != NULL)
        {
          g_hash_table_iter_init (&iter, names);
          while (class_id == 0 && g_hash_table_iter_next (&iter, &key, &value))
            if (g_ascii_strcasecmp (value, wanted) == 0)
              class_id = *(gint64 *) key;
        }
      if (class_id == 0)
        {
          g_autofree char *message = g_strdup_printf (_("No class named “%s” in this collection"), wanted);
          qr_gallery_page_set_search_status (self->gallery, error ? error->message : message);
          return;
        }
      ids = qr_catalog_list_view_scored (self->catalog, QR_VIEW_CLASS, class_id, QR_SORT_NAME,
                                         qr_image_list_get_min_score (self->images), &error);
    }
  else
    ids = qr_catalog_find_by_name (self->catalog, wanted, &error);
  if (ids == NULL)
    {
      qr_gallery_page_set_search_status (self->gallery, error->message);
      return;
    }
  scores = g_array_sized_new (FALSE, FALSE, sizeof (double), ids->len);
  for (guint i = 0; i < ids->len; i++)
    {
      double none = NAN;
      g_array_append_val (scores, none);
    }
  if (!qr_image_list_set_search (self->images, ids, scores, &error))
    {
      qr_gallery_page_set_search_status (self->gallery, error->message);
      return;
    }
  status = by_class ? g_strdup_printf (_("%u images with a %s label or box at Min Score %.2f, in this view"),
                                       g_list_model_get_n_items (G_LIST_MODEL (self->images)), wanted,
                                       qr_image_list_get_min_score (self->images))
                    : g_strdup_printf (_("%u images named “…%s…” in this view"),
                                       g_list_model_get_n_items (G_LIST_MODEL (self->images)), wanted);
  qr_gallery_page_set_search_status (self->gallery, status);
  qr_gallery_page_scroll_to (self->gallery, 0);
  qr_window_update_subtitle (self);
}

void
qr_window_search (QrWindow *self, const char *text, const char *scorer)
{
  g_autoptr (GTask) task = NULL;
  SearchJob *job;

  if (self->catalog == NULL)
    return;
  if (g_str_equal (scorer, "file-name") || g_str_equal (scorer, "class"))
    {
      if (self->search_cancellable != NULL)
        g_cancellable_cancel (self->search_cancellable);
      g_clear_object (&self->search_cancellable);
      g_clear_pointer (&self->search_text, g_free);   /* T shows words, not names */
      filter_search (self, text, g_str_equal (scorer, "class"));
      return;
    }
  if (self->search_cancellable != NULL)
    g_cancellable_cancel (self->search_cancellable);
  g_clear_object (&self->search_cancellable);
  self->search_cancellable = g_cancellable_new ();
  g_free (self->search_text);
  self->search_text = g_strdup (text);
  g_free (self->search_scorer);
  self->search_scorer = g_strdup (scorer);
  job = g_new0 (SearchJob, 1);
  job->db_path = g_strdup (qr_catalog_get_db_path (self->catalog));
  job->text = g_strdup (text);
  job->scorer = g_strdup (scorer);
  qr_gallery_page_set_search_status (self->gallery, _("Searching…"));
  task = g_task_new (self, self->search_cancellable, search_ready, NULL);
  g_task_set_task_data (task, job, (GDestroyNotify) search_job_free);
  qr_jobs_run_task (task, search_thread);
}

void
qr_window_stop_search (QrWindow *self)
{
  if (self->search_cancellable != NULL)
    g_cancellable_cancel (self->search_cancellable);
  g_clear_object (&self->search_cancellable);
  g_clear_pointer (&self->search_text, g_free);
  if (qr_image_list_is_searching (self->images))
    {
      qr_image_list_set_search (self->images, NULL, NULL, NULL);
      qr_window_update_subtitle (self);
    }
}
