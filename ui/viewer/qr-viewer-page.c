/* qr-viewer-page.c: see qr-viewer-page.h. Its workers (the full photo, the heatmap) are GTasks
 * counted by the scheduler (qr_jobs_run_task) with the page as their owner: the page going away
 * cancels and waits for its own. */
#define G_LOG_DOMAIN "quorum-window"

#include "qr-viewer-page.h"
#include "qr-inspector.h"
#include "qr-heatmap.h"
#include "qr-scorer.h"
#include "qr-jobs.h"

#include <glib/gi18n.h>

struct _QrViewerPage
{
  GtkWidget     parent_instance;

  /* Template widgets */
  AdwFlap      *inspector_flap;
  QrCanvas     *canvas;
  QrInspector  *inspector;

  /* Owned references */
  QrCatalog    *catalog;
  QrHistory    *history;
  GCancellable *cancellable;     /* the image on screen's workers */
  QrDetector   *heat_detector;   /* for heatmaps; used by one task at a time (heat_lock) */
  QrHeatmap    *heat;            /* the image on screen's class scores, kept for recolouring */
  QrScorer     *scorer;          /* captions' scorer, read on a worker once per catalog */
  GCancellable *scorer_cancellable;
  QrCatalog    *scorer_for;      /* the catalog it was read from (compared, not held) */
  GMutex        heat_lock;

  gint64        image_id;        /* the image on screen */
  int           image_width, image_height;
  gboolean      heat_on;
  const char   *heat_class;      /* the class the heatmap shows: a name, or "All classes" */
  char         *phrase;          /* T: the text whose classes the heatmap shows, or NULL */
  GStrv         phrase_classes;
  char         *phrase_scorer;   /* T after a search by a scorer with maps of its own (clip, dmsm): its
                                    name, whose map of phrase_text is shown; NULL: the classes' */
  char         *phrase_text;
  GdkTexture   *phrase_texture;  /* that map for the image on screen, once computed */
  double        phrase_cell;
  QrScorer     *map_scorer;      /* the worker's scorer for those maps (heat_lock), made on first use */
  char         *map_scorer_key;  /* the catalog file, scorer and generation it was made for */
  guint         map_generation;  /* counts forget_scorer: a retrained model, new embeddings */
  gboolean      disposing;       /* no new background work */
};

G_DEFINE_FINAL_TYPE (QrViewerPage, qr_viewer_page, GTK_TYPE_WIDGET)

enum { PROP_0, PROP_HEATMAP_ON, PROP_HEATMAP_CLASS, N_PROPS };
static GParamSpec *properties[N_PROPS];

static void
toast (QrViewerPage *self, const char *message)
{
  GtkWidget *overlay = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_TOAST_OVERLAY);

  if (overlay != NULL)
    {
      g_object_set_data_full (G_OBJECT (overlay), "last-toast", g_strdup (message), g_free);
      adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), adw_toast_new (message));
    }
  else
    g_message ("%s", message);
}

/* A toast with Undo in it (the window's win.undo). */
static void
toast_undo (QrViewerPage *self, const char *message)
{
  GtkWidget *overlay = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_TOAST_OVERLAY);
  AdwToast *t;

  if (overlay == NULL)
    {
      g_message ("%s", message);
      return;
    }
  g_object_set_data_full (G_OBJECT (overlay), "last-toast", g_strdup (message), g_free);
  t = adw_toast_new (message);
  adw_toast_set_button_label (t, _("Undo"));
  adw_toast_set_action_name (t, "win.undo");
  adw_toast_set_priority (t, ADW_TOAST_PRIORITY_HIGH);
  adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), t);
}

/* What a decision did, in words: the toast after Y, N, S. */
static char *
decision_message (const QrMistakeRecord *item, const char *decision)
{
  const char *label_class = item->label_class_name ? item->label_class_name : item->class_name;

  if (g_str_equal (decision, "kept"))
    return item->label_id > 0 ? g_strdup_printf (_("Kept the %s label as it is"), label_class ? label_class : "")
                              : g_strdup (_("Kept as it is: no label added"));
  if (g_str_equal (decision, "skipped"))
    return g_strdup (_("Skipped for now"));
  if (g_str_equal (item->kind, "missing"))
    return g_strdup_printf (_("Added a %s label where the peers see one"), item->class_name);
  if (g_str_equal (item->kind, "spurious"))
    return g_strdup_printf (_("Deleted the %s label no peer sees"), label_class ? label_class : "");
  if (g_str_equal (item->kind, "wrong_class"))
    return g_strdup_printf (_("Made the %s label a %s"), item->label_class_name ? item->label_class_name : "",
                            item->class_name);
  if (g_str_equal (item->kind, "poorly_located"))
    return g_strdup_printf (_("Moved the %s label to the peers' box"), label_class ? label_class : "");
  if (g_str_equal (item->kind, "model_mistake"))
    return g_strdup_printf (_("Noted as %s's mistake on this %s"), item->peer ? item->peer : _("the model"),
                            item->class_name ? item->class_name : _("object"));
  return g_strdup_printf (_("Accepted the %s item"), item->kind);
}

/* The full photo */

static void
photo_loaded (GObject *source, GAsyncResult *result, gpointer data)
{
  QrViewerPage *self = QR_VIEWER_PAGE (source);
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkTexture) texture = g_task_propagate_pointer (G_TASK (result), &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (texture == NULL)
    {
      toast (self, error->message);
      return;
    }
  qr_canvas_set_image (self->canvas, texture, self->image_width, self->image_height);
}

static void
load_photo (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  GError *error = NULL;
  g_autoptr (QrImage) image = qr_image_load (task_data, NULL, 0, &error);
  GBytes *pixels;
  gsize stride;
  GdkTexture *texture;

  if (image == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  stride = (gsize) image->width * 3;
  pixels = g_bytes_new_take (g_steal_pointer (&image->pixels), stride * (gsize) image->height);
  texture = gdk_memory_texture_new (image->width, image->height, GDK_MEMORY_R8G8B8, pixels, stride);
  g_bytes_unref (pixels);
  if (!g_task_return_error_if_cancelled (task))
    g_task_return_pointer (task, texture, g_object_unref);
  else
    g_object_unref (texture);
}

/* The heatmap (H): CenterNet's class scores for the image on screen, coloured for the selected
 * box's class, or the maximum over all classes when no box is selected. */

static void
show_heatmap (QrViewerPage *self)
{
  GPtrArray *boxes = qr_canvas_get_overlays (self->canvas);
  int selected = qr_canvas_get_selected (self->canvas);
  const char *class_name = NULL, *shown;
  g_autoptr (GdkTexture) texture = NULL;

  if (self->heat_on && self->phrase != NULL && self->phrase_scorer != NULL)
    {
      if (self->phrase_texture == NULL)
        return;
      qr_canvas_set_heatmap (self->canvas, self->phrase_texture, self->phrase_cell);
      qr_canvas_set_heatmap_relative (self->canvas, TRUE);
      self->heat_class = self->phrase;
      qr_canvas_set_heatmap_title (self->canvas, self->phrase);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HEATMAP_CLASS]);
      return;
    }
  if (!self->heat_on || self->heat == NULL)
    return;
  qr_canvas_set_heatmap_relative (self->canvas, FALSE);
  if (self->phrase != NULL)
    {
      texture = qr_heatmap_colour_classes (self->heat, (const char *const *) self->phrase_classes);
      qr_canvas_set_heatmap (self->canvas, texture, qr_heatmap_get_cell_size (self->heat));
      self->heat_class = self->phrase;
      qr_canvas_set_heatmap_title (self->canvas, self->phrase);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HEATMAP_CLASS]);
      return;
    }
  if (boxes != NULL && selected >= 0 && (guint) selected < boxes->len)
    class_name = ((QrOverlayBox *) boxes->pdata[selected])->class_name;
  texture = qr_heatmap_colour (self->heat, class_name, &shown);
  qr_canvas_set_heatmap (self->canvas, texture, qr_heatmap_get_cell_size (self->heat));
  self->heat_class = shown != NULL ? shown : _("All classes");
  qr_canvas_set_heatmap_title (self->canvas, self->heat_class);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HEATMAP_CLASS]);
}

static void
canvas_changed (QrCanvas *canvas, QrViewerPage *self)
{
  show_heatmap (self);
}

typedef struct
{
  char        *path;
  QrDetector **detector;   /* the page's, made on first use */
  GMutex      *lock;
} HeatJob;

static void
heat_job_free (HeatJob *job)
{
  g_free (job->path);
  g_free (job);
}

static void
compute_heatmap (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  HeatJob *job = task_data;
  GError *error = NULL;
  QrHeatmap *heat = qr_heatmap_compute (job->path, job->detector, job->lock, cancellable, &error);

  if (heat == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, heat, (GDestroyNotify) qr_heatmap_free);
}

static void
heatmap_ready (GObject *source, GAsyncResult *result, gpointer data)
{
  QrViewerPage *self = QR_VIEWER_PAGE (source);
  g_autoptr (GError) error = NULL;
  QrHeatmap *heat = g_task_propagate_pointer (G_TASK (result), &error);

  if (heat == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        toast (self, error->message);
      return;
    }
  qr_heatmap_free (self->heat);
  self->heat = heat;
  show_heatmap (self);
}

/* A scorer's phrase map (T after a search by CLIP or the caption model), on a worker: the scorer is
 * made once per catalog and name and kept (under heat_lock, like the detector). */

typedef struct
{
  char      *path, *db_path, *scorer_name, *text;
  guint      generation;
  QrScorer **scorer;
  char     **key;
  GMutex    *lock;
  double     cell;    /* out */
} PhraseJob;

static void
phrase_job_free (PhraseJob *job)
{
  g_free (job->path);
  g_free (job->db_path);
  g_free (job->scorer_name);
  g_free (job->text);
  g_free (job);
}

static GdkTexture *
phrase_map_locked (PhraseJob *job, GCancellable *cancellable, GError **error)
{
  g_autofree char *key = g_strdup_printf ("%s\n%s\n%u", job->db_path, job->scorer_name, job->generation);
  g_autofree float *map = NULL;
  QrScorerText *text;
  int rows = 0, cols = 0;
  guint8 *rgba;
  GBytes *bytes;
  GdkTexture *texture;

  if (*job->scorer == NULL || g_strcmp0 (*job->key, key) != 0)
    {
      g_autoptr (QrCatalog) catalog = qr_catalog_open_existing (job->db_path, error);
      g_clear_object (job->scorer);
      g_clear_pointer (job->key, g_free);
      if (catalog == NULL || (*job->scorer = qr_scorer_new (catalog, job->scorer_name, error)) == NULL)
        return NULL;
      *job->key = g_steal_pointer (&key);
    }
  if (!qr_scorer_has_phrase_map (*job->scorer))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, _("%s draws no map of where words are"),
                   qr_scorer_get_title (*job->scorer));
      return NULL;
    }
  if ((text = qr_scorer_prepare (*job->scorer, job->text, error)) == NULL)
    return NULL;
  map = qr_scorer_phrase_map (*job->scorer, text, job->path, cancellable, &rows, &cols, &job->cell, error);
  qr_scorer_text_free (*job->scorer, text);
  if (map == NULL)
    return NULL;
  /* the map runs from its lowest cell (transparent) to its highest (the ramp's top) */
  rgba = g_malloc ((gsize) rows * (gsize) cols * 4);
  for (int i = 0; i < rows * cols; i++)
    qr_heatmap_ramp (CLAMP (map[i], 0.0f, 1.0f) / 1.6f, rgba + (gsize) i * 4);
  bytes = g_bytes_new_take (rgba, (gsize) rows * (gsize) cols * 4);
  texture = gdk_memory_texture_new (cols, rows, GDK_MEMORY_R8G8B8A8, bytes, (gsize) cols * 4);
  g_bytes_unref (bytes);
  return texture;
}

static void
compute_phrase_map (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  PhraseJob *job = task_data;
  GError *error = NULL;
  GdkTexture *texture;

  g_mutex_lock (job->lock);
  texture = phrase_map_locked (job, cancellable, &error);
  g_mutex_unlock (job->lock);
  if (texture == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, texture, g_object_unref);
}

static void
phrase_map_ready (GObject *source, GAsyncResult *result, gpointer data)
{
  QrViewerPage *self = QR_VIEWER_PAGE (source);
  g_autoptr (GError) error = NULL;
  GdkTexture *texture = g_task_propagate_pointer (G_TASK (result), &error);

  if (texture == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        toast (self, error->message);
      return;
    }
  g_clear_object (&self->phrase_texture);
  self->phrase_texture = texture;
  self->phrase_cell = ((PhraseJob *) g_task_get_task_data (G_TASK (result)))->cell;
  show_heatmap (self);
}

static void
request_heatmap (QrViewerPage *self)
{
  g_autoptr (QrImageRecord) image = NULL;
  g_autoptr (GTask) task = NULL;
  HeatJob *job;

  qr_canvas_set_heatmap (self->canvas, NULL, 1);
  g_clear_pointer (&self->heat, qr_heatmap_free);
  g_clear_object (&self->phrase_texture);
  if (!self->heat_on || self->catalog == NULL || self->disposing
      || (image = qr_catalog_get_image (self->catalog, self->image_id, NULL)) == NULL)
    return;
  if (self->phrase_scorer != NULL)
    {
      PhraseJob *pj = g_new0 (PhraseJob, 1);
      pj->path = qr_catalog_resolve_path (self->catalog, image->path);
      pj->db_path = g_strdup (qr_catalog_get_db_path (self->catalog));
      pj->scorer_name = g_strdup (self->phrase_scorer);
      pj->text = g_strdup (self->phrase_text);
      pj->generation = self->map_generation;
      pj->scorer = &self->map_scorer;
      pj->key = &self->map_scorer_key;
      pj->lock = &self->heat_lock;
      task = g_task_new (self, self->cancellable, phrase_map_ready, NULL);
      g_task_set_task_data (task, pj, (GDestroyNotify) phrase_job_free);
      qr_jobs_run_task (task, compute_phrase_map);
      return;
    }
  job = g_new0 (HeatJob, 1);
  job->path = qr_catalog_resolve_path (self->catalog, image->path);
  job->detector = &self->heat_detector;
  job->lock = &self->heat_lock;
  task = g_task_new (self, self->cancellable, heatmap_ready, NULL);
  g_task_set_task_data (task, job, (GDestroyNotify) heat_job_free);
  qr_jobs_run_task (task, compute_heatmap);
}

static void
request_heatmap_idle (gpointer data)
{
  request_heatmap (data);
}

void
qr_viewer_page_toggle_phrase_heatmap (QrViewerPage *self, const char *text, const char *const *classes,
                                      const char *scorer)
{
  /* a scorer's own map says whose it is: “a dog on a beach” · CLIP */
  const char *whose = scorer == NULL ? NULL : g_str_equal (scorer, "clip") ? "CLIP"
                      : g_str_equal (scorer, "dmsm") ? _("caption model")
                      : g_str_equal (scorer, "blend") ? _("caption model and detections") : scorer;
  g_autofree char *title = whose ? g_strdup_printf ("“%s” · %s", text, whose) : g_strdup_printf ("“%s”", text);
  gboolean same = self->heat_on && self->phrase != NULL && g_strcmp0 (self->phrase, title) == 0;
  gboolean was_scorer = self->phrase_scorer != NULL;

  g_clear_pointer (&self->phrase, g_free);
  g_clear_pointer (&self->phrase_classes, g_strfreev);
  g_clear_pointer (&self->phrase_scorer, g_free);
  g_clear_pointer (&self->phrase_text, g_free);
  if (same)
    {
      self->heat_on = FALSE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HEATMAP_ON]);
      request_heatmap (self);
      return;
    }
  self->phrase = g_steal_pointer (&title);
  self->phrase_classes = g_strdupv ((char **) classes);
  self->phrase_scorer = g_strdup (scorer);
  self->phrase_text = g_strdup (text);
  if (self->heat_on && scorer == NULL && !was_scorer && self->heat != NULL)
    {
      show_heatmap (self);
      return;
    }
  self->heat_on = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HEATMAP_ON]);
  request_heatmap (self);
}

void
qr_viewer_page_toggle_heatmap (QrViewerPage *self)
{
  /* H shows the class scores; from a phrase map it switches to them rather than off */
  if (self->phrase != NULL && self->heat_on)
    {
      gboolean was_scorer = self->phrase_scorer != NULL;
      g_clear_pointer (&self->phrase, g_free);
      g_clear_pointer (&self->phrase_classes, g_strfreev);
      g_clear_pointer (&self->phrase_scorer, g_free);
      g_clear_pointer (&self->phrase_text, g_free);
      if (was_scorer)
        request_heatmap (self);   /* the class scores were not computed */
      else
        show_heatmap (self);
      return;
    }
  self->heat_on = !self->heat_on;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HEATMAP_ON]);
  request_heatmap (self);
}

gboolean
qr_viewer_page_get_heatmap_on (QrViewerPage *self)
{
  return self->heat_on;
}

/* The captions' scorer: the peers' consensus read on a worker with its own connection. */

static void
scorer_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  g_autoptr (QrCatalog) catalog = qr_catalog_open_existing (data, &error);
  QrScorer *scorer = catalog ? qr_zeroshot_scorer_new (catalog, FALSE, &error) : NULL;

  if (scorer == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, scorer, g_object_unref);
}

static void
scorer_ready (GObject *source, GAsyncResult *result, gpointer data)
{
  QrViewerPage *self = QR_VIEWER_PAGE (source);
  g_autoptr (GError) error = NULL;
  QrScorer *scorer = g_task_propagate_pointer (G_TASK (result), &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&self->scorer_cancellable);
  g_clear_object (&self->scorer);
  self->scorer = scorer;
  qr_inspector_set_scorer (self->inspector, scorer, error ? error->message : NULL);
}

static void
request_scorer (QrViewerPage *self)
{
  g_autoptr (GTask) task = NULL;

  if (self->catalog == NULL || self->disposing || (self->scorer_for == self->catalog && (self->scorer != NULL
                                                                                        || self->scorer_cancellable != NULL)))
    return;
  if (self->scorer_cancellable != NULL)
    g_cancellable_cancel (self->scorer_cancellable);
  g_clear_object (&self->scorer_cancellable);
  g_clear_object (&self->scorer);
  qr_inspector_set_scorer (self->inspector, NULL, _("Reading the detections…"));
  self->scorer_for = self->catalog;
  self->scorer_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->scorer_cancellable, scorer_ready, NULL);
  g_task_set_task_data (task, g_strdup (qr_catalog_get_db_path (self->catalog)), g_free);
  qr_jobs_run_task (task, scorer_thread);
}

void
qr_viewer_page_forget_scorer (QrViewerPage *self)
{
  self->scorer_for = NULL;
  self->map_generation++;   /* the phrase maps' scorer is made again (on its worker) at the next map */
  if (self->catalog != NULL && self->image_id > 0)
    request_scorer (self);
}

/* The image on screen */

void
qr_viewer_page_show_image (QrViewerPage *self, QrCatalog *catalog, QrHistory *history, QrImageItem *item)
{
  g_autoptr (GTask) task = NULL;

  if (self->disposing)
    return;
  g_set_object (&self->catalog, catalog);
  g_set_object (&self->history, history);
  self->image_id = qr_image_item_get_id (item);
  self->image_width = qr_image_item_get_width (item);
  self->image_height = qr_image_item_get_height (item);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();

  /* The thumbnail stands in until the full image is decoded; boxes are drawn at once. */
  qr_canvas_set_image (self->canvas, qr_image_item_get_thumbnail (item), self->image_width, self->image_height);
  qr_canvas_set_highlight (self->canvas, NULL);
  qr_inspector_set_image (self->inspector, catalog, self->image_id);
  qr_inspector_set_history (self->inspector, history);
  request_scorer (self);
  qr_canvas_set_overlays (self->canvas, qr_catalog_list_overlays (catalog, self->image_id, NULL));
  qr_canvas_set_editing (self->canvas, history, self->image_id);
  /* the previous image's heatmap must not linger */
  if (self->heat_on)
    g_idle_add_once ((GSourceOnceFunc) request_heatmap_idle, self);
  else
    qr_canvas_set_heatmap (self->canvas, NULL, 1);

  task = g_task_new (self, self->cancellable, photo_loaded, NULL);
  g_task_set_task_data (task, qr_catalog_resolve_path (catalog, qr_image_item_get_path (item)), g_free);
  qr_jobs_run_task (task, load_photo);
}

void
qr_viewer_page_clear (QrViewerPage *self)
{
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  qr_canvas_set_image (self->canvas, NULL, 0, 0);
  qr_canvas_set_overlays (self->canvas, NULL);
}

void
qr_viewer_page_reload_boxes (QrViewerPage *self)
{
  if (self->catalog != NULL)
    qr_canvas_set_overlays (self->canvas, qr_catalog_list_overlays (self->catalog, self->image_id, NULL));
}

/* Review items: Y accepts the peers' consensus, N keeps the label as it is, E marks it edited by
 * hand and puts the canvas on the item's box (drawing one, for a missing object), S skips; each
 * is stored with who and when, says what it did in a toast with Undo, and Ctrl+Z undoes it. */
gboolean
qr_viewer_page_decide (QrViewerPage *self, const char *decision)
{
  g_autoptr (GError) error = NULL;
  const QrMistakeRecord *found = qr_inspector_get_review_item (self->inspector);
  g_autoptr (QrMistakeRecord) item = NULL;
  g_autofree char *message = NULL;
  gint64 open;

  if (self->history == NULL || found == NULL)
    {
      toast (self, _("No review item on this image"));
      return FALSE;
    }
  /* a copy: the inspector lets go of its item below */
  item = qr_mistake_record_copy (found);
  if (g_str_equal (item->kind, "caption") && g_str_equal (decision, "accepted"))
    {
      /* Y on a caption: the best suggestion replaces it */
      g_autoptr (GArray) best = NULL;
      if (self->scorer == NULL || !QR_IS_ZEROSHOT_SCORER (self->scorer))
        {
          toast (self, _("Still reading the detections: try again in a moment"));
          return FALSE;
        }
      best = qr_captions_suggest (QR_ZEROSHOT_SCORER (self->scorer), NULL, self->image_id, 1, &error);
      if (best == NULL || best->len == 0
          || qr_history_decide_caption (self->history, item, decision,
                                        g_array_index (best, QrCaptionCandidate, 0).text, &error) < 0)
        {
          toast (self, error ? error->message : _("No suggestion for this image"));
          return FALSE;
        }
      message = g_strdup_printf (_("Caption replaced by “%s”"), g_array_index (best, QrCaptionCandidate, 0).text);
    }
  else if (qr_history_decide (self->history, item, decision, &error) < 0)
    {
      toast (self, error->message);
      return FALSE;
    }
  qr_inspector_forget_review_item (self->inspector);
  qr_canvas_set_highlight (self->canvas, NULL);
  /* labels may have changed: the canvas and the inspector follow now */
  qr_canvas_reload (self->canvas);
  if (g_str_equal (decision, "edited"))
    {
      /* E: the item's label selected for editing, or drawing started for a missing object */
      if (item->label_id > 0 && qr_canvas_select_label (self->canvas, item->label_id))
        toast_undo (self, _("Edit the label now: drag it or its handles, 1–9 or C for its class"));
      else if (qr_canvas_start_drawing (self->canvas, item->class_id))
        {
          qr_canvas_set_highlight (self->canvas, &item->box);
          message = g_strdup_printf (_("Draw the %s box now (drag on the photo)"), item->class_name ? item->class_name : "");
          toast_undo (self, message);
        }
      return TRUE;
    }
  if (message == NULL)
    message = decision_message (item, decision);
  open = qr_catalog_count_open_items (self->catalog, self->image_id, NULL);
  if (open == 0 && !g_str_equal (decision, "skipped"))
    {
      char *more = g_strdup_printf (_("%s · image reviewed"), message);
      g_free (message);
      message = more;
    }
  toast_undo (self, message);
  return TRUE;
}

void
qr_viewer_page_toggle_inspector (QrViewerPage *self)
{
  adw_flap_set_reveal_flap (self->inspector_flap, !adw_flap_get_reveal_flap (self->inspector_flap));
}

QrCanvas *
qr_viewer_page_get_canvas (QrViewerPage *self)
{
  return self->canvas;
}

static void
qr_viewer_page_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  QrViewerPage *self = QR_VIEWER_PAGE (object);

  switch (prop_id)
    {
    case PROP_HEATMAP_ON:
      g_value_set_boolean (value, self->heat_on);
      break;
    case PROP_HEATMAP_CLASS:
      g_value_set_string (value, self->heat_class);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qr_viewer_page_dispose (GObject *object)
{
  QrViewerPage *self = QR_VIEWER_PAGE (object);

  self->disposing = TRUE;
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  if (!qr_jobs_wait_owner (self, 30 * G_USEC_PER_SEC))
    g_warning ("the viewer's background work still running after 30 s");
  gtk_widget_dispose_template (GTK_WIDGET (self), QR_TYPE_VIEWER_PAGE);
  /* the template's top child has no id: it goes with the widget */
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);
  g_mutex_lock (&self->heat_lock);
  g_clear_pointer (&self->heat_detector, qr_detector_free);
  g_clear_object (&self->map_scorer);
  g_clear_pointer (&self->map_scorer_key, g_free);
  g_mutex_unlock (&self->heat_lock);
  g_clear_pointer (&self->phrase, g_free);
  g_clear_pointer (&self->phrase_classes, g_strfreev);
  g_clear_pointer (&self->phrase_scorer, g_free);
  g_clear_pointer (&self->phrase_text, g_free);
  g_clear_object (&self->phrase_texture);
  g_clear_pointer (&self->heat, qr_heatmap_free);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->history);
  if (self->scorer_cancellable != NULL)
    g_cancellable_cancel (self->scorer_cancellable);
  g_clear_object (&self->scorer_cancellable);
  g_clear_object (&self->scorer);
  g_clear_object (&self->catalog);
  G_OBJECT_CLASS (qr_viewer_page_parent_class)->dispose (object);
}

static void
qr_viewer_page_finalize (GObject *object)
{
  g_mutex_clear (&QR_VIEWER_PAGE (object)->heat_lock);
  G_OBJECT_CLASS (qr_viewer_page_parent_class)->finalize (object);
}

static void
qr_viewer_page_class_init (QrViewerPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = qr_viewer_page_get_property;
  object_class->dispose = qr_viewer_page_dispose;
  object_class->finalize = qr_viewer_page_finalize;
  properties[PROP_HEATMAP_ON] = g_param_spec_boolean ("heatmap-on", NULL, NULL, FALSE,
                                                      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_HEATMAP_CLASS] = g_param_spec_string ("heatmap-class", NULL, NULL, NULL,
                                                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (QR_TYPE_CANVAS);
  g_type_ensure (QR_TYPE_INSPECTOR);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/quorum/Quorum/ui/qr-viewer-page.ui");
  gtk_widget_class_bind_template_child (widget_class, QrViewerPage, inspector_flap);
  gtk_widget_class_bind_template_child (widget_class, QrViewerPage, canvas);
  gtk_widget_class_bind_template_child (widget_class, QrViewerPage, inspector);
}

/* The viewer's keys (B, C, 1–9, Delete, 0, arrows, L…) belong to the canvas; a key that reaches
 * the page because something else in the viewer has the focus (an inspector row just clicked, a
 * button) is handed to the canvas, unless it is typing in a text field. */
static gboolean
page_key_pressed (GtkEventControllerKey *keys, guint keyval, guint keycode, GdkModifierType state, QrViewerPage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *focus = root ? gtk_root_get_focus (root) : NULL;

  if (focus == GTK_WIDGET (self->canvas) || (focus != NULL && (GTK_IS_EDITABLE (focus) || GTK_IS_TEXT (focus)
                                                                || gtk_widget_get_ancestor (focus, GTK_TYPE_POPOVER))))
    return FALSE;
  return gtk_event_controller_key_forward (keys, GTK_WIDGET (self->canvas));
}

static void
qr_viewer_page_init (QrViewerPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  g_mutex_init (&self->heat_lock);
  qr_inspector_set_canvas (self->inspector, self->canvas);
  g_signal_connect (self->canvas, "selection-changed", G_CALLBACK (canvas_changed), self);
  g_signal_connect (self->canvas, "changed", G_CALLBACK (canvas_changed), self);
  {
    GtkEventController *keys = gtk_event_controller_key_new ();
    gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_BUBBLE);
    g_signal_connect (keys, "key-pressed", G_CALLBACK (page_key_pressed), self);
    gtk_widget_add_controller (GTK_WIDGET (self), keys);
  }
}
