/* qr-window.c: the main window. Opening a collection shows what its catalog already holds at
 * once; a background job (a GTask on its own catalog connection) then re-indexes the folder and
 * makes missing thumbnails, reporting progress back on the main thread. Everything a menu, a
 * shortcut or a test can trigger is a widget action. */
#define G_LOG_DOMAIN "quorum-window"

#include "qr-window.h"
#include "qr-image-list.h"
#include "qr-export-dialog.h"
#include "qr-canvas.h"
#include "qr-runner.h"
#include "qr-history.h"
#include "qr-indexer.h"
#include "qr-thumbnailer.h"
#include "qr-stall-monitor.h"
#include "qr-jobs.h"
#include "qr-preferences.h"
#include "qr-review.h"
#include "qr-eval-window.h"

#include <json-glib/json-glib.h>

#include <glib/gi18n.h>
#include <math.h>

#define MAX_RECENT 10

typedef enum
{
  JOB_PHASE_INDEX,
  JOB_PHASE_INDEXED,   /* indexing done: the gallery reloads */
  JOB_PHASE_THUMBS,
  JOB_PHASE_DETECT,
} JobPhase;

struct _QrWindow
{
  AdwApplicationWindow  parent_instance;

  /* Template widgets */
  AdwWindowTitle       *window_title;
  AdwToastOverlay      *toast_overlay;
  AdwStatusPage        *status_page;
  GtkStack             *stack;
  GtkGridView          *grid_view;
  GtkListBox           *inspector;
  GPtrArray            *review_items;   /* the image on screen's open review items (QrMistakeRecord) */
  int                   review_selected;
  AdwFlap              *inspector_flap;
  AdwFlap              *sidebar_flap;
  gboolean              inspector_updating;
  QrCanvas             *canvas;
  GtkButton            *back_button;
  GtkWidget            *score_box;
  GtkScale             *score_scale;
  GtkRevealer          *job_revealer;
  GtkLabel             *job_label;
  GtkProgressBar       *job_progress;
  GtkLabel             *job_rate;
  GMenu                *recent_section;
  GtkListBox           *sidebar;

  /* Owned references */
  GSettings            *settings;       /* NULL when no schema is installed */
  QrCatalog            *catalog;        /* the main thread's connection */
  QrHistory            *history;        /* label edits of this collection, for undo */
  QrImageList          *images;
  GtkMultiSelection    *selection;      /* Ctrl/Shift-click and rubberband; Detect runs over it */
  GArray               *detect_only;    /* image ids for the next Detect, NULL: all */
  GCancellable         *job_cancellable;
  GCancellable         *viewer_cancellable;
  QrDetector           *heat_detector;  /* for heatmaps; used by one task at a time */
  struct _HeatRaw      *heat_raw;       /* the image on screen's class scores, kept for recolouring */
  GtkBox               *heat_box;       /* the opacity slider, shown while the heatmap is on */
  GtkMenuButton        *layers_button;
  GtkDropDown          *review_class_dropdown;
  GArray               *review_class_ids;   /* the dropdown's classes; position 0 is "All classes" */
  gboolean              review_class_updating;
  GtkBox               *layers_box;
  GtkScale             *heat_scale;
  GMutex                heat_lock;
  gboolean              heat_on;
  gboolean              disposing;     /* no new background work */
  char                 *collection;

  JobPhase              job_phase;
  gint64                job_phase_started_us;
  QrStallMonitor       *job_stalls;     /* the main loop's longest stall while a job runs */
  gint64                last_job_stall_us;
  guint                 viewer_position;
  gint64                viewer_image_id;  /* the image on screen: positions move when the list reloads */
};

G_DEFINE_FINAL_TYPE (QrWindow, qr_window, ADW_TYPE_APPLICATION_WINDOW)

static void
toast (QrWindow *self, const char *message)
{
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
}

static void show_page (QrWindow *self, const char *page);

/* One sidebar row: a title and its count; the row carries its view and class (or review kind) as
 * data; sub-rows are indented. */
static void
add_sidebar_row (QrWindow *self, const char *title, gint64 n, QrImageView view, gint64 class_id, gboolean indent)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *label = gtk_label_new (title);
  g_autofree char *text = g_strdup_printf ("%" G_GINT64_FORMAT, n);
  GtkWidget *count = gtk_label_new (text);
  GtkWidget *row = gtk_list_box_row_new ();

  gtk_widget_set_hexpand (label, TRUE);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  if (indent)
    gtk_widget_set_margin_start (label, 12);
  gtk_widget_add_css_class (count, "dim-label");
  gtk_box_append (GTK_BOX (box), label);
  gtk_box_append (GTK_BOX (box), count);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  g_object_set_data (G_OBJECT (row), "view", GINT_TO_POINTER (view));
  g_object_set_data (G_OBJECT (row), "class", GSIZE_TO_POINTER ((gsize) class_id));
  gtk_list_box_append (self->sidebar, row);
}

/* The sidebar: the catalog's views with their counts, the review queue's kinds, then one row per
 * class. */
static void
rebuild_sidebar (QrWindow *self)
{
  static const char *const titles[] = { N_("All Images"), N_("Unlabeled"), N_("Labeled"), N_("Unreadable"),
                                        N_("Review Queue") };
  static const QrImageView views[] = { QR_VIEW_ALL, QR_VIEW_UNLABELED, QR_VIEW_LABELED, QR_VIEW_UNREADABLE,
                                       QR_VIEW_REVIEW };
  gint64 counts[5] = { 0 };
  g_autoptr (GArray) ids = NULL;
  g_autoptr (GPtrArray) names = NULL;
  g_autoptr (GArray) class_counts = NULL;
  GtkListBoxRow *selected = gtk_list_box_get_selected_row (self->sidebar);
  int selected_index = selected ? gtk_list_box_row_get_index (selected) : 0;
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->sidebar))) != NULL)
    gtk_list_box_remove (self->sidebar, child);
  if (self->catalog == NULL)
    return;
  qr_catalog_count_views (self->catalog, counts, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (titles); i++)
    add_sidebar_row (self, _(titles[i]), counts[i], views[i], 0, FALSE);
  /* the review queue's kinds, each with the images that have one open */
  {
    static const char *const kind_titles[] = { N_("Missing labels"), N_("Spurious labels"), N_("Wrong classes"),
                                               N_("Poorly located"), N_("Model mistakes") };
    gint64 kinds[5] = { 0 };
    if (counts[4] > 0 && qr_catalog_count_review_kinds (self->catalog, kinds, NULL))
      for (int k = 0; k < 5; k++)
        if (kinds[k] > 0)
          add_sidebar_row (self, _(kind_titles[k]), kinds[k], QR_VIEW_REVIEW, k + 1, TRUE);
  }
  if (qr_catalog_class_image_counts (self->catalog, &ids, &names, &class_counts, NULL))
    for (guint i = 0; i < ids->len; i++)
      add_sidebar_row (self, names->pdata[i], g_array_index (class_counts, gint64, i), QR_VIEW_CLASS,
                       g_array_index (ids, gint64, i), TRUE);
  g_signal_handlers_block_matched (self->sidebar, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
  gtk_list_box_select_row (self->sidebar, gtk_list_box_get_row_at_index (self->sidebar, selected_index)
                                            ? gtk_list_box_get_row_at_index (self->sidebar, selected_index)
                                            : gtk_list_box_get_row_at_index (self->sidebar, 0));
  g_signal_handlers_unblock_matched (self->sidebar, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
}

static void
score_changed (GtkRange *range, QrWindow *self)
{
  qr_canvas_set_score_threshold (self->canvas, gtk_range_get_value (range));
}

static QrImageSort
current_sort (QrWindow *self)
{
  g_autofree char *order = self->settings ? g_settings_get_string (self->settings, "sort-order") : NULL;

  return g_strcmp0 (order, "newest") == 0 ? QR_SORT_NEWEST : g_strcmp0 (order, "mistakes") == 0 ? QR_SORT_MISTAKES
                                                                                               : QR_SORT_NAME;
}

/* The review view's class filter: the classes with open items of the view's kind, each with its
 * image count; shown only in the review views. Keeps the chosen class when it still has items. */
static void
update_review_classes (QrWindow *self)
{
  gint64 kind = 0, keep = qr_image_list_get_review_class (self->images);
  QrImageView view = qr_image_list_get_view (self->images, &kind);
  g_autoptr (GtkStringList) list = gtk_string_list_new (NULL);
  g_autoptr (GArray) ids = NULL, counts = NULL;
  g_autoptr (GPtrArray) names = NULL;
  guint selected = 0;

  gtk_widget_set_visible (GTK_WIDGET (self->review_class_dropdown), view == QR_VIEW_REVIEW);
  if (view != QR_VIEW_REVIEW || self->catalog == NULL)
    return;
  g_clear_pointer (&self->review_class_ids, g_array_unref);
  self->review_class_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_array_append_val (self->review_class_ids, (gint64) { 0 });
  gtk_string_list_append (list, _("All Classes"));
  if (qr_catalog_review_classes (self->catalog, (int) kind, &ids, &names, &counts, NULL))
    for (guint i = 0; i < ids->len; i++)
      {
        g_autofree char *text = g_strdup_printf ("%s (%" G_GINT64_FORMAT ")", (const char *) names->pdata[i],
                                                 g_array_index (counts, gint64, i));
        g_array_append_val (self->review_class_ids, g_array_index (ids, gint64, i));
        gtk_string_list_append (list, text);
        if (g_array_index (ids, gint64, i) == keep)
          selected = i + 1;
      }
  self->review_class_updating = TRUE;
  gtk_drop_down_set_model (self->review_class_dropdown, G_LIST_MODEL (list));
  gtk_drop_down_set_selected (self->review_class_dropdown, selected);
  self->review_class_updating = FALSE;
  if (selected == 0 && keep != 0)
    qr_image_list_set_review_class (self->images, 0, NULL);
}

static void
review_class_selected (GtkDropDown *dropdown, GParamSpec *pspec, QrWindow *self)
{
  guint i = gtk_drop_down_get_selected (dropdown);
  g_autoptr (GError) error = NULL;

  if (self->review_class_updating || self->review_class_ids == NULL || i >= self->review_class_ids->len)
    return;
  if (!qr_image_list_set_review_class (self->images, g_array_index (self->review_class_ids, gint64, i), &error))
    g_warning ("%s", error->message);
  if (!g_str_equal (gtk_stack_get_visible_child_name (self->stack), "viewer"))
    show_page (self, g_list_model_get_n_items (G_LIST_MODEL (self->images)) > 0 ? "gallery" : "empty");
}

static void
sidebar_selected (GtkListBox *box, GtkListBoxRow *row, QrWindow *self)
{
  g_autoptr (GError) error = NULL;

  if (row == NULL || self->catalog == NULL)
    return;
  if (!qr_image_list_set_view (self->images, GPOINTER_TO_INT (g_object_get_data (G_OBJECT (row), "view")),
                               (gint64) GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (row), "class")),
                               current_sort (self), &error))
    g_warning ("%s", error->message);
  update_review_classes (self);
  if (!g_str_equal (gtk_stack_get_visible_child_name (self->stack), "viewer"))
    show_page (self, g_list_model_get_n_items (G_LIST_MODEL (self->images)) > 0 ? "gallery" : "empty");
}

static void
update_subtitle (QrWindow *self)
{
  QrCatalogStats stats;
  g_autofree char *name = NULL;
  g_autofree char *subtitle = NULL;

  if (self->catalog == NULL)
    {
      adw_window_title_set_title (self->window_title, "Quorum");
      adw_window_title_set_subtitle (self->window_title, "");
      return;
    }
  name = g_path_get_basename (self->collection);
  adw_window_title_set_title (self->window_title, name);
  rebuild_sidebar (self);
  if (!qr_catalog_get_stats (self->catalog, &stats, NULL))
    return;
  if (stats.images_unreadable > 0)
    subtitle = g_strdup_printf (_("%" G_GINT64_FORMAT " images · %" G_GINT64_FORMAT " unreadable"),
                                stats.images_ok, stats.images_unreadable);
  else
    subtitle = g_strdup_printf (_("%" G_GINT64_FORMAT " images"), stats.images_ok);
  adw_window_title_set_subtitle (self->window_title, subtitle);
}

static void
show_page (QrWindow *self, const char *page)
{
  gboolean viewer = g_str_equal (page, "viewer");

  gtk_stack_set_visible_child_name (self->stack, page);
  gtk_widget_set_visible (GTK_WIDGET (self->back_button), viewer);
  gtk_widget_set_visible (self->score_box, viewer);
  gtk_widget_set_visible (GTK_WIDGET (self->heat_box), viewer && self->heat_on);
  gtk_widget_set_visible (GTK_WIDGET (self->layers_button), viewer);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.show-gallery", viewer);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.next-image", viewer);
  /* Y, N, E, S decide on the image on screen's items: only in the viewer */
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "review.accept", viewer);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "review.keep", viewer);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "review.edit", viewer);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "review.skip", viewer);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.previous-image", viewer);
  if (viewer)
    gtk_widget_grab_focus (GTK_WIDGET (self->canvas));
  else if (g_str_equal (page, "gallery"))
    gtk_widget_grab_focus (GTK_WIDGET (self->grid_view));
}

static void
show_gallery_or_empty (QrWindow *self)
{
  if (self->catalog != NULL && g_list_model_get_n_items (G_LIST_MODEL (self->images)) > 0)
    {
      if (!g_str_equal (gtk_stack_get_visible_child_name (self->stack), "viewer"))
        show_page (self, "gallery");
      return;
    }
  if (self->catalog != NULL)
    {
      adw_status_page_set_title (self->status_page, _("No Images Found"));
      adw_status_page_set_description (self->status_page,
                                       qr_window_is_busy (self) ? _("Looking for images…")
                                                                : _("This folder has no images Quorum reads"));
    }
  show_page (self, "empty");
}

/* Background job: index, then thumbnails */

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
  QrJob    *handle;   /* set by the worker when it starts: where reports go */
} Job;

typedef struct
{
  QrWindow *window;
  JobPhase  phase;
  guint64   done;
  guint64   total;
} JobProgress;

static void
job_free (Job *job)
{
  g_free (job->root);
  g_free (job->db_path);
  g_free (job->model);
  g_free (job->device);
  if (job->only != NULL)
    g_array_unref (job->only);
  g_free (job);
}

/* On the main loop, coalesced by the scheduler (qr-jobs.h): the job bar. */
static void
on_job_progress (QrJob *qjob, int phase, guint64 done, guint64 total, gpointer data)
{
  QrWindow *self = data;
  gint64 now = g_get_monotonic_time ();
  JobProgress progress = { self, (JobPhase) phase, done, total }, *p = &progress;

  if (p->phase != self->job_phase)
    {
      self->job_phase = p->phase;
      self->job_phase_started_us = now;
    }
  switch (p->phase)
    {
    case JOB_PHASE_INDEX:
      gtk_label_set_text (self->job_label, _("Indexing…"));
      break;
    case JOB_PHASE_INDEXED:
      qr_image_list_reload (self->images, NULL);
      update_subtitle (self);
      show_gallery_or_empty (self);
      return;
    case JOB_PHASE_THUMBS:
      gtk_label_set_text (self->job_label, _("Making thumbnails…"));
      qr_image_list_thumbnails_changed (self->images);
      break;
    case JOB_PHASE_DETECT:
      gtk_label_set_text (self->job_label, _("Detecting objects…"));
      break;
    }
  if (p->total > 0)
    {
      double elapsed = (double) (now - self->job_phase_started_us) / G_USEC_PER_SEC;
      double rate = elapsed > 0.2 ? (double) p->done / elapsed : 0;
      g_autofree char *text = NULL;

      gtk_progress_bar_set_fraction (self->job_progress, (double) p->done / (double) p->total);
      if (rate > 0)
        text = g_strdup_printf (_("%" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " · %.0f/s · %.0f s left"),
                                p->done, p->total, rate, (double) (p->total - p->done) / rate);
      else
        text = g_strdup_printf (_("%" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT), p->done, p->total);
      gtk_label_set_text (self->job_rate, text);
    }
  else
    {
      gtk_progress_bar_pulse (self->job_progress);
      gtk_label_set_text (self->job_rate, "");
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
  /* the review queue follows the newest runs */
  {
    gint64 items = qr_review_update (catalog, NULL, NULL);
    if (items >= 0)
      return g_strdup_printf (_("%s: %u images, %u detections; %" G_GINT64_FORMAT " review items"), job->model,
                              stats.images, stats.detections, items);
  }
  return g_strdup_printf (_("%s: %u images, %u detections"), job->model, stats.images, stats.detections);
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
      gtk_revealer_set_reveal_child (self->job_revealer, FALSE);
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
  update_subtitle (self);
  show_gallery_or_empty (self);
  if (g_str_equal (gtk_stack_get_visible_child_name (self->stack), "viewer"))
    {
      /* New detections: redraw the boxes of the image on screen, found again by id (the reload
         may have moved it, or taken it out of the view: then J/K go on from where it was) */
      guint position = qr_image_list_find (self->images, self->viewer_image_id);
      if (position != G_MAXUINT)
        self->viewer_position = position;
      qr_canvas_set_overlays (self->canvas, qr_catalog_list_overlays (self->catalog, self->viewer_image_id, NULL));
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    toast (self, _("Cancelled: what was done is kept"));
  else if (error != NULL)
    toast (self, error->message);
  else if (summary != NULL)
    toast (self, summary);
}

static void
action_preferences (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);
  if (self->settings == NULL)
    {
      toast (self, _("Preferences need the app's settings schema (run Quorum as installed or from the build tree)"));
      return;
    }
  gtk_window_present (GTK_WINDOW (qr_preferences_new (GTK_WINDOW (self), self->settings)));
}

static void
action_evaluate (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);
  if (self->catalog == NULL)
    return;
  /* every label when nothing is reviewed yet: a plot of something rather than of nothing */
  {
    QrCatalogStats stats;
    gboolean all = !qr_catalog_get_stats (self->catalog, &stats, NULL) || stats.reviewed == 0;
    gtk_window_present (GTK_WINDOW (qr_eval_window_new (GTK_WINDOW (self), self->catalog, all)));
  }
}

static void
models_folder_changed (GSettings *settings, const char *key, QrWindow *self)
{
  g_autofree char *dir = g_settings_get_string (settings, "models-folder");
  qr_set_models_folder (dir);
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

static void start_job_with (QrWindow *self, QrJobFunc func, const char *label);

static void
action_update_review (GtkWidget *widget, const char *name, GVariant *param)
{
  start_job_with (QR_WINDOW (widget), run_review_job, _("Updating the review queue…"));
}

/* The viewer's own workers (the full photo, the heatmap) are GTasks; the scheduler counts them
 * with the jobs (owned by the window), so that the window going away waits for its own and the
 * app quitting cancels and waits for every one. */
static void
tracked_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  GTaskThreadFunc func = (GTaskThreadFunc) g_object_get_data (G_OBJECT (task), "qr-worker-func");

  func (task, source, task_data, cancellable);
  qr_jobs_worker_end (cancellable, source);
}

static void
run_tracked (GTask *task, GTaskThreadFunc func)
{
  qr_jobs_worker_begin (g_task_get_cancellable (task), g_task_get_source_object (task));
  g_object_set_data (G_OBJECT (task), "qr-worker-func", (gpointer) func);
  g_task_run_in_thread (task, tracked_thread);
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

  gtk_label_set_text (self->job_label, label);
  gtk_label_set_text (self->job_rate, "");
  gtk_progress_bar_set_fraction (self->job_progress, 0);
  gtk_revealer_set_reveal_child (self->job_revealer, TRUE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.cancel-job", TRUE);
  g_clear_pointer (&self->job_stalls, qr_stall_monitor_free);
  self->job_stalls = qr_stall_monitor_new ();
  /* the job keeps the window alive until its end is delivered */
  handle = qr_job_start ("quorum-job", func, job, (GDestroyNotify) job_free, self->job_cancellable, on_job_progress,
                         on_job_done, g_object_ref (self), g_object_unref);
}

static void
start_job (QrWindow *self)
{
  start_job_with (self, run_job, _("Indexing…"));
}

gboolean
qr_window_is_busy (QrWindow *self)
{
  return self->job_cancellable != NULL;
}

GtkWidget *
qr_window_get_grid_view (QrWindow *self)
{
  return GTK_WIDGET (self->grid_view);
}

gint64
qr_window_get_last_job_stall_us (QrWindow *self)
{
  return self->last_job_stall_us;
}

/* Recent collections */

static void
rebuild_recent_menu (QrWindow *self)
{
  g_auto (GStrv) recent = NULL;

  g_menu_remove_all (self->recent_section);
  if (self->settings == NULL)
    return;
  recent = g_settings_get_strv (self->settings, "recent-collections");
  for (guint i = 0; recent[i] != NULL; i++)
    {
      g_autoptr (GMenuItem) item = g_menu_item_new (NULL, NULL);
      g_autofree char *base = g_path_get_basename (recent[i]);
      g_autofree char *label = g_strdup_printf ("%s (%s)", base, recent[i]);

      g_menu_item_set_label (item, label);
      g_menu_item_set_action_and_target_value (item, "win.open-recent", g_variant_new_string (recent[i]));
      g_menu_append_item (self->recent_section, item);
    }
}

static void
remember_collection (QrWindow *self, const char *dir)
{
  g_auto (GStrv) recent = NULL;
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) updated = NULL;
  guint n = 1;

  if (self->settings == NULL)
    return;
  g_settings_set_string (self->settings, "last-collection", dir);
  recent = g_settings_get_strv (self->settings, "recent-collections");
  g_strv_builder_add (builder, dir);
  for (guint i = 0; recent[i] != NULL && n < MAX_RECENT; i++)
    if (!g_str_equal (recent[i], dir))
      {
        g_strv_builder_add (builder, recent[i]);
        n++;
      }
  updated = g_strv_builder_end (builder);
  g_settings_set_strv (self->settings, "recent-collections", (const char *const *) updated);
  rebuild_recent_menu (self);
}

static void
history_changed (QrWindow *self)
{
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.undo", self->history && qr_history_can_undo (self->history));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.redo", self->history && qr_history_can_redo (self->history));
}

gboolean
qr_window_open_collection (QrWindow *self, const char *dir, GError **error)
{
  g_autoptr (QrCatalog) catalog = NULL;

  g_return_val_if_fail (QR_IS_WINDOW (self), FALSE);

  catalog = qr_catalog_open (dir, NULL, error);
  if (catalog == NULL)
    return FALSE;
  if (self->job_cancellable != NULL)
    g_cancellable_cancel (self->job_cancellable);
  g_clear_object (&self->job_cancellable);
  if (!qr_image_list_set_catalog (self->images, catalog, error))
    return FALSE;
  g_set_object (&self->catalog, catalog);
  g_clear_object (&self->history);
  self->history = qr_history_new (catalog);
  g_signal_connect_object (self->history, "changed", G_CALLBACK (history_changed), self, G_CONNECT_SWAPPED);
  history_changed (self);
  g_free (self->collection);
  self->collection = g_strdup (qr_catalog_get_root (catalog));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.reindex", TRUE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.export", TRUE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.detect", TRUE);
  remember_collection (self, self->collection);
  update_subtitle (self);
  show_page (self, "gallery");
  show_gallery_or_empty (self);
  start_job (self);
  return TRUE;
}

const char *
qr_window_get_collection (QrWindow *self)
{
  return self->collection;
}

GListModel *
qr_window_get_images (QrWindow *self)
{
  return G_LIST_MODEL (self->images);
}

/* Viewer */

static void
viewer_loaded (GObject *source, GAsyncResult *result, gpointer data)
{
  QrWindow *self = QR_WINDOW (source);
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkTexture) texture = g_task_propagate_pointer (G_TASK (result), &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (texture == NULL)
    {
      toast (self, error->message);
      return;
    }
  {
    g_autoptr (QrImageItem) item = g_list_model_get_item (G_LIST_MODEL (self->images), self->viewer_position);
    if (item != NULL)
      qr_canvas_set_image (self->canvas, texture, qr_image_item_get_width (item), qr_image_item_get_height (item));
  }
}

static void
load_full_image (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
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

static void request_heatmap (QrWindow *self);

static void
request_heatmap_idle (gpointer data)
{
  request_heatmap (data);
}

static void
show_image_at (QrWindow *self, guint position)
{
  g_autoptr (QrImageItem) item = g_list_model_get_item (G_LIST_MODEL (self->images), position);
  g_autoptr (GTask) task = NULL;
  g_autofree char *subtitle = NULL;

  if (item == NULL || self->disposing)
    return;
  self->viewer_position = position;
  self->viewer_image_id = qr_image_item_get_id (item);
  gtk_selection_model_select_item (GTK_SELECTION_MODEL (self->selection), position, TRUE);
  if (self->viewer_cancellable != NULL)
    g_cancellable_cancel (self->viewer_cancellable);
  g_clear_object (&self->viewer_cancellable);
  self->viewer_cancellable = g_cancellable_new ();

  /* The thumbnail stands in until the full image is decoded; boxes are drawn at once. */
  qr_canvas_set_image (self->canvas, qr_image_item_get_thumbnail (item), qr_image_item_get_width (item),
                       qr_image_item_get_height (item));
  qr_canvas_set_highlight (self->canvas, NULL);
  self->review_selected = -1;
  qr_canvas_set_overlays (self->canvas, qr_catalog_list_overlays (self->catalog, qr_image_item_get_id (item), NULL));
  qr_canvas_set_editing (self->canvas, self->history, qr_image_item_get_id (item));
  /* the previous image's heatmap must not linger */
  if (self->heat_on)
    g_idle_add_once ((GSourceOnceFunc) request_heatmap_idle, self);
  else
    qr_canvas_set_heatmap (self->canvas, NULL, 1);
  subtitle = g_strdup_printf ("%s · %d × %d", qr_image_item_get_path (item), qr_image_item_get_width (item),
                              qr_image_item_get_height (item));
  adw_window_title_set_subtitle (self->window_title, subtitle);
  show_page (self, "viewer");

  task = g_task_new (self, self->viewer_cancellable, viewer_loaded, NULL);
  g_task_set_task_data (task, qr_catalog_resolve_path (self->catalog, qr_image_item_get_path (item)), g_free);
  run_tracked (task, load_full_image);
}

static void
grid_activated (GtkGridView *view, guint position, QrWindow *self)
{
  show_image_at (self, position);
}

/* The inspector: the image's boxes with class, score and source, and for each box how every
 * model with boxes here voted: the score of its best same-class box overlapping it at IoU ≥ 0.5,
 * "–" when it has none (peer pressure in miniature; the review queue ranks the same votes). */

static float
overlap (const QrBox *a, const QrBox *b)
{
  double ix = MIN (a->x2, b->x2) - MAX (a->x1, b->x1), iy = MIN (a->y2, b->y2) - MAX (a->y1, b->y1), inter, uni;
  if (ix <= 0 || iy <= 0)
    return 0;
  inter = ix * iy;
  uni = (a->x2 - a->x1) * (a->y2 - a->y1) + (b->x2 - b->x1) * (b->y2 - b->y1) - inter;
  return uni > 0 ? (float) (inter / uni) : 0;
}

static char *
peer_votes (GPtrArray *boxes, const QrOverlayBox *b)
{
  g_autoptr (GPtrArray) models = g_ptr_array_new ();
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < boxes->len; i++)
    {
      QrOverlayBox *o = boxes->pdata[i];
      if (!o->is_label && !g_ptr_array_find_with_equal_func (models, o->source, g_str_equal, NULL))
        g_ptr_array_add (models, o->source);
    }
  for (guint m = 0; m < models->len; m++)
    {
      float best = 0;
      if (!b->is_label && g_str_equal (models->pdata[m], b->source))
        continue;
      for (guint i = 0; i < boxes->len; i++)
        {
          QrOverlayBox *o = boxes->pdata[i];
          if (!o->is_label && g_str_equal (o->source, models->pdata[m]) && g_str_equal (o->class_name, b->class_name)
              && overlap (&o->box, &b->box) >= 0.5f)
            best = MAX (best, o->score);
        }
      g_string_append_printf (text, "%s%s %s", text->len ? " · " : "", (const char *) models->pdata[m],
                              best > 0 ? "" : "–");
      if (best > 0)
        g_string_append_printf (text, "%.2f", best);
    }
  return g_string_free (text, FALSE);
}

/* Review items: the image's open items from the review queue, highest first, each with a small
 * bar per peer for its vote. Y accepts the peers' consensus, N keeps the label as it is, E marks
 * it edited by hand (then edit), S skips; each is stored with who and when, and Ctrl+Z undoes it. */
static const char *
kind_title (const char *kind)
{
  if (g_str_equal (kind, "missing"))
    return _("Missing label");
  if (g_str_equal (kind, "spurious"))
    return _("Spurious label");
  if (g_str_equal (kind, "wrong_class"))
    return _("Wrong class");
  if (g_str_equal (kind, "poorly_located"))
    return _("Poorly located");
  return _("Model mistake");
}

static GtkWidget *
vote_bars (const char *votes_json)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  JsonObject *votes;
  g_autoptr (GList) members = NULL;

  gtk_widget_set_valign (box, GTK_ALIGN_CENTER);
  if (!json_parser_load_from_data (parser, votes_json, -1, NULL) || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return box;
  votes = json_node_get_object (json_parser_get_root (parser));
  members = json_object_get_members (votes);
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *node = json_object_get_member (votes, l->data);
      GtkWidget *bar = gtk_level_bar_new_for_interval (0, 1);
      g_autofree char *tip = NULL;
      gtk_widget_set_size_request (bar, 64, 4);
      if (JSON_NODE_HOLDS_NULL (node))
        {
          tip = g_strdup_printf (_("%s has no such class"), (const char *) l->data);
          gtk_widget_set_opacity (bar, 0.3);
        }
      else
        {
          gtk_level_bar_set_value (GTK_LEVEL_BAR (bar), json_node_get_double (node));
          tip = g_strdup_printf ("%s %.2f", (const char *) l->data, json_node_get_double (node));
        }
      gtk_widget_set_tooltip_text (bar, tip);
      gtk_box_append (GTK_BOX (box), bar);
    }
  return box;
}

static void
inspector_add_review_items (QrWindow *self)
{
  g_clear_pointer (&self->review_items, g_ptr_array_unref);
  if (self->catalog == NULL || self->viewer_image_id <= 0)
    return;
  self->review_items = qr_catalog_list_open_mistakes (self->catalog, self->viewer_image_id, NULL);
  for (guint i = 0; self->review_items != NULL && i < self->review_items->len; i++)
    {
      QrMistakeRecord *m = self->review_items->pdata[i];
      GtkWidget *row = adw_action_row_new ();
      g_autofree char *title = g_markup_printf_escaped ("%s: %s  <small>%.2f</small>", kind_title (m->kind),
                                                        m->class_name ? m->class_name : "?", m->score);
      g_autofree char *subtitle = NULL;
      if (m->label_class_name != NULL && g_strcmp0 (m->label_class_name, m->class_name) != 0)
        subtitle = g_markup_printf_escaped (_("labelled %s · Y accepts, N keeps, E edit, S skip"), m->label_class_name);
      else if (m->peer != NULL)
        subtitle = g_markup_printf_escaped (_("%s disagrees · Y agree, N keep, S skip"), m->peer);
      else
        subtitle = g_strdup (_("Y accepts the consensus, N keeps, E edit, S skip"));
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), vote_bars (m->votes));
      g_object_set_data (G_OBJECT (row), "mistake-index", GINT_TO_POINTER ((int) i + 1));
      gtk_widget_add_css_class (row, "inspector-mistake");
      gtk_list_box_append (self->inspector, row);
      if ((int) i == self->review_selected)
        gtk_list_box_select_row (self->inspector, GTK_LIST_BOX_ROW (row));
    }
}

static void
select_review_item (QrWindow *self, int index)
{
  QrMistakeRecord *m;
  if (self->review_items == NULL || index < 0 || (guint) index >= self->review_items->len)
    return;
  self->review_selected = index;
  m = self->review_items->pdata[index];
  qr_canvas_set_highlight (self->canvas, &m->box);
  qr_canvas_zoom_to_box (self->canvas, &m->box);
}

static void
decide (QrWindow *self, const char *decision)
{
  g_autoptr (GError) error = NULL;
  QrMistakeRecord *m;
  int index = self->review_selected >= 0 ? self->review_selected : 0;

  if (!g_str_equal (gtk_stack_get_visible_child_name (self->stack), "viewer"))
    return;   /* the keys decide on the image on screen, and there is none */
  if (self->history == NULL || self->review_items == NULL || (guint) index >= self->review_items->len)
    {
      toast (self, _("No review item on this image"));
      return;
    }
  m = self->review_items->pdata[index];
  if (qr_history_decide (self->history, m, decision, &error) < 0)
    {
      toast (self, error->message);
      return;
    }
  self->review_selected = -1;
  qr_canvas_set_highlight (self->canvas, NULL);
  /* labels may have changed: the canvas and the inspector follow now, the sidebar's counts too;
     the gallery reloads when the viewer is left, so positions do not move under the viewer */
  qr_canvas_reload (self->canvas);
  rebuild_sidebar (self);
  if (g_str_equal (decision, "edited"))
    toast (self, _("Marked as edited by hand: change the label now"));
}

static void
action_review (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);
  if (g_str_equal (name, "review.accept"))
    decide (self, "accepted");
  else if (g_str_equal (name, "review.keep"))
    decide (self, "kept");
  else if (g_str_equal (name, "review.edit"))
    decide (self, "edited");
  else
    decide (self, "skipped");
}

static void
inspector_update (QrCanvas *canvas, QrWindow *self)
{
  GPtrArray *boxes = qr_canvas_get_overlays (canvas);
  int selected = qr_canvas_get_selected (canvas);
  GtkWidget *child;

  self->inspector_updating = TRUE;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->inspector))) != NULL)
    gtk_list_box_remove (self->inspector, child);
  inspector_add_review_items (self);
  for (guint i = 0; boxes != NULL && i < boxes->len; i++)
    {
      QrOverlayBox *b = boxes->pdata[i];
      GtkWidget *row = adw_action_row_new ();
      g_autofree char *title = NULL, *votes = NULL, *subtitle = NULL;
      if (!qr_canvas_is_box_visible (canvas, i))
        continue;
      title = b->is_label ? g_markup_escape_text (b->class_name, -1)
                          : g_markup_printf_escaped ("%s  <small>%.2f</small>", b->class_name, b->score);
      votes = peer_votes (boxes, b);
      subtitle = b->is_label ? g_markup_printf_escaped (_("label · %s"), votes[0] ? votes : _("no model boxes"))
                             : g_markup_printf_escaped (_("%s's box · %s"), b->source, votes[0] ? votes : _("no other model"));
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 3);
      g_object_set_data (G_OBJECT (row), "overlay-index", GINT_TO_POINTER ((int) i));
      gtk_widget_add_css_class (row, b->is_label ? "inspector-label" : "inspector-model");
      gtk_list_box_append (self->inspector, row);
      if ((int) i == selected)
        gtk_list_box_select_row (self->inspector, GTK_LIST_BOX_ROW (row));
    }
  if (gtk_widget_get_first_child (GTK_WIDGET (self->inspector)) == NULL)
    {
      GtkWidget *empty = gtk_label_new (_("No boxes on this image: draw one with B, or detect with Ctrl+R"));
      gtk_label_set_wrap (GTK_LABEL (empty), TRUE);
      gtk_widget_add_css_class (empty, "dim-label");
      gtk_widget_set_margin_top (empty, 24);
      gtk_widget_set_margin_start (empty, 12);
      gtk_widget_set_margin_end (empty, 12);
      gtk_list_box_append (self->inspector, empty);
      gtk_list_box_row_set_selectable (GTK_LIST_BOX_ROW (gtk_widget_get_parent (empty)), FALSE);
    }
  self->inspector_updating = FALSE;
}

static void
inspector_follow_selection (QrCanvas *canvas, QrWindow *self)
{
  int selected = qr_canvas_get_selected (canvas);
  self->inspector_updating = TRUE;
  gtk_list_box_unselect_all (self->inspector);
  for (GtkWidget *c = gtk_widget_get_first_child (GTK_WIDGET (self->inspector)); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    if (ADW_IS_ACTION_ROW (c) && GPOINTER_TO_INT (g_object_get_data (G_OBJECT (c), "overlay-index")) == selected)
      gtk_list_box_select_row (self->inspector, GTK_LIST_BOX_ROW (c));
  self->inspector_updating = FALSE;
}

static void
inspector_selected (GtkListBox *box, GtkListBoxRow *row, QrWindow *self)
{
  if (self->inspector_updating || row == NULL || !ADW_IS_ACTION_ROW (row))
    return;
  if (g_object_get_data (G_OBJECT (row), "mistake-index") != NULL)
    {
      select_review_item (self, GPOINTER_TO_INT (g_object_get_data (G_OBJECT (row), "mistake-index")) - 1);
      return;
    }
  qr_canvas_select (self->canvas, GPOINTER_TO_INT (g_object_get_data (G_OBJECT (row), "overlay-index")));
}

/* Layers: one check per source of boxes on the image (labels, then each model). */
static void
layer_toggled (GtkCheckButton *check, QrWindow *self)
{
  qr_canvas_set_layer_visible (self->canvas, g_object_get_data (G_OBJECT (check), "source"),
                               gtk_check_button_get_active (check));
}

static void
layers_update (QrCanvas *canvas, QrWindow *self)
{
  GPtrArray *boxes = qr_canvas_get_overlays (canvas);
  g_autoptr (GPtrArray) sources = g_ptr_array_new ();
  GtkWidget *child;
  g_autoptr (GString) key = g_string_new (NULL);

  for (guint i = 0; boxes != NULL && i < boxes->len; i++)
    {
      QrOverlayBox *b = boxes->pdata[i];
      const char *source = b->is_label ? "label" : b->source;
      if (!g_ptr_array_find_with_equal_func (sources, source, g_str_equal, NULL))
        g_ptr_array_add (sources, (gpointer) source);
    }
  for (guint i = 0; i < sources->len; i++)
    g_string_append_printf (key, "%s\n", (const char *) sources->pdata[i]);
  /* rebuilt only when the set of sources changes, so an open popover keeps its focus */
  if (g_strcmp0 (g_object_get_data (G_OBJECT (self->layers_box), "sources"), key->str) == 0)
    return;
  g_object_set_data_full (G_OBJECT (self->layers_box), "sources", g_strdup (key->str), g_free);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->layers_box))) != NULL)
    gtk_box_remove (self->layers_box, child);
  for (guint i = 0; i < sources->len; i++)
    {
      const char *source = sources->pdata[i];
      GtkWidget *check = gtk_check_button_new_with_label (g_str_equal (source, "label") ? _("Labels") : source);
      g_object_set_data_full (G_OBJECT (check), "source", g_strdup (source), g_free);
      gtk_check_button_set_active (GTK_CHECK_BUTTON (check), qr_canvas_get_layer_visible (canvas, source));
      g_signal_connect (check, "toggled", G_CALLBACK (layer_toggled), self);
      gtk_box_append (self->layers_box, check);
    }
  if (sources->len == 0)
    gtk_box_append (self->layers_box, gtk_label_new (_("No boxes on this image")));
}

static void
action_inspector (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);
  adw_flap_set_reveal_flap (self->inspector_flap, !adw_flap_get_reveal_flap (self->inspector_flap));
}

/* Gallery cells */

/* The tooltip is made when it is asked for: setting a tooltip text on every bind cost about 4 ms
 * a cell (measured by `quorum bench gallery`: a jump that rebinds a screen of cells took 170 ms
 * with it, 33 ms without). */
static gboolean
cell_query_tooltip (GtkWidget *box, int x, int y, gboolean keyboard, GtkTooltip *tooltip, GtkListItem *list_item)
{
  QrImageItem *item = gtk_list_item_get_item (list_item);
  g_autofree char *text = NULL;

  if (item == NULL)
    return FALSE;
  if (qr_image_item_get_state (item) == QR_IMAGE_STATE_UNREADABLE)
    text = g_strdup_printf (_("%s\nUnreadable: %s"), qr_image_item_get_path (item), qr_image_item_get_reason (item));
  else
    text = g_strdup_printf (_("%s\n%d × %d · %" G_GINT64_FORMAT " labels · %" G_GINT64_FORMAT " model boxes"),
                            qr_image_item_get_path (item), qr_image_item_get_width (item),
                            qr_image_item_get_height (item), qr_image_item_get_n_labels (item),
                            qr_image_item_get_n_detections (item));
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
cell_setup (GtkSignalListItemFactory *factory, GtkListItem *list_item, QrWindow *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  GtkWidget *picture = gtk_picture_new ();
  GtkWidget *label = gtk_label_new (NULL);
  GtkWidget *overlay = gtk_overlay_new ();
  GtkWidget *badge = gtk_label_new (NULL);
  int size = self->settings ? g_settings_get_int (self->settings, "cell-size") : 176;

  gtk_widget_add_css_class (box, "gallery-cell");
  gtk_widget_set_size_request (picture, size - 16, size - 40);
  gtk_picture_set_can_shrink (GTK_PICTURE (picture), TRUE);
  gtk_picture_set_content_fit (GTK_PICTURE (picture), GTK_CONTENT_FIT_CONTAIN);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_MIDDLE);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 18);
  gtk_widget_add_css_class (label, "caption");
  /* Badges: labels and model boxes, or that the file is unreadable. */
  gtk_widget_add_css_class (badge, "badge");
  gtk_widget_set_halign (badge, GTK_ALIGN_END);
  gtk_widget_set_valign (badge, GTK_ALIGN_START);
  gtk_widget_set_margin_top (badge, 4);
  gtk_widget_set_margin_end (badge, 4);
  gtk_overlay_set_child (GTK_OVERLAY (overlay), picture);
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), badge);
  gtk_box_append (GTK_BOX (box), overlay);
  gtk_box_append (GTK_BOX (box), label);
  gtk_widget_set_has_tooltip (box, TRUE);
  g_signal_connect (box, "query-tooltip", G_CALLBACK (cell_query_tooltip), list_item);
  gtk_list_item_set_child (list_item, box);
}

static void
cell_thumbnail_changed (QrImageItem *item, GParamSpec *pspec, GtkPicture *picture)
{
  gtk_picture_set_paintable (picture, GDK_PAINTABLE (qr_image_item_get_thumbnail (item)));
}

static void
update_badge (QrImageItem *item, GParamSpec *pspec, GtkWidget *badge)
{
  g_autofree char *text = NULL;

  if (qr_image_item_get_state (item) == QR_IMAGE_STATE_UNREADABLE)
    text = g_strdup ("⚠");
  else
    {
      /* ▢ human labels, ⬚ model boxes; a zero count is left out. */
      gint64 labels = qr_image_item_get_n_labels (item);
      gint64 detections = qr_image_item_get_n_detections (item);

      double mistake = qr_image_item_get_mistake_score (item);
      g_autofree char *counts = NULL;

      if (labels > 0 && detections > 0)
        counts = g_strdup_printf ("%" G_GINT64_FORMAT " ▢  %" G_GINT64_FORMAT " ⬚", labels, detections);
      else if (labels > 0)
        counts = g_strdup_printf ("%" G_GINT64_FORMAT " ▢", labels);
      else if (detections > 0)
        counts = g_strdup_printf ("%" G_GINT64_FORMAT " ⬚", detections);
      /* ! and the score: a likely mistake waits in the review queue */
      if (mistake >= 0)
        text = g_strdup_printf ("! %.2f%s%s", mistake, counts ? "  " : "", counts ? counts : "");
      else
        text = g_steal_pointer (&counts);
    }
  gtk_label_set_text (GTK_LABEL (badge), text ? text : "");
  gtk_widget_set_visible (badge, text != NULL);
  if (qr_image_item_get_state (item) != QR_IMAGE_STATE_UNREADABLE && qr_image_item_get_mistake_score (item) >= 0)
    gtk_widget_add_css_class (badge, "mistake");
  else
    gtk_widget_remove_css_class (badge, "mistake");
}

static void
cell_bind (GtkSignalListItemFactory *factory, GtkListItem *list_item, QrWindow *self)
{
  QrImageItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *box = gtk_list_item_get_child (list_item);
  GtkWidget *overlay = gtk_widget_get_first_child (box);
  GtkWidget *picture = gtk_overlay_get_child (GTK_OVERLAY (overlay));
  GtkWidget *badge = gtk_widget_get_last_child (overlay);
  GtkWidget *label = gtk_widget_get_last_child (box);
  gulong handler;

  update_badge (item, NULL, badge);

  gtk_label_set_text (GTK_LABEL (label), qr_image_item_get_name (item));
  gtk_picture_set_paintable (GTK_PICTURE (picture), GDK_PAINTABLE (qr_image_item_get_thumbnail (item)));
  if (qr_image_item_get_state (item) == QR_IMAGE_STATE_UNREADABLE)
    gtk_widget_add_css_class (box, "unreadable");
  else
    gtk_widget_remove_css_class (box, "unreadable");
  handler = g_signal_connect_object (item, "notify::thumbnail", G_CALLBACK (cell_thumbnail_changed), picture, 0);
  g_object_set_data (G_OBJECT (list_item), "thumbnail-handler", GUINT_TO_POINTER (handler));
  handler = g_signal_connect_object (item, "notify::n-labels", G_CALLBACK (update_badge), badge, 0);
  g_object_set_data (G_OBJECT (list_item), "badge-handler", GUINT_TO_POINTER (handler));
  qr_image_item_request_thumbnail (item);
}

static void
cell_unbind (GtkSignalListItemFactory *factory, GtkListItem *list_item, QrWindow *self)
{
  QrImageItem *item = gtk_list_item_get_item (list_item);
  gulong handler = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (list_item), "thumbnail-handler"));

  if (handler != 0)
    g_signal_handler_disconnect (item, handler);
  g_object_set_data (G_OBJECT (list_item), "thumbnail-handler", NULL);
  handler = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (list_item), "badge-handler"));
  if (handler != 0)
    g_signal_handler_disconnect (item, handler);
  g_object_set_data (G_OBJECT (list_item), "badge-handler", NULL);
}

/* Actions */

static void
folder_chosen (GtkNativeDialog *dialog, int response, QrWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = folder ? g_file_get_path (folder) : NULL;
      g_autoptr (GError) error = NULL;

      if (path != NULL && !qr_window_open_collection (self, path, &error))
        toast (self, error->message);
    }
  g_object_unref (dialog);
}

static void
action_open_folder (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);
  GtkFileChooserNative *dialog = gtk_file_chooser_native_new (_("Open a Collection Folder"), GTK_WINDOW (self),
                                                              GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Open"),
                                                              _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (folder_chosen), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
action_open_recent (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);
  g_autoptr (GError) error = NULL;

  if (!qr_window_open_collection (self, g_variant_get_string (param, NULL), &error))
    toast (self, error->message);
}

static void
action_export (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);
  QrExportDialog *dialog;

  if (self->catalog == NULL)
    return;
  dialog = qr_export_dialog_new (GTK_WINDOW (self), qr_catalog_get_root (self->catalog),
                                 qr_catalog_get_db_path (self->catalog));
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
action_detect (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);
  g_autoptr (GtkBitset) selected = NULL;
  guint64 n;

  if (self->catalog == NULL)
    return;
  /* more than one image selected in the gallery: Detect runs over those (one selected image is
   * just where the keyboard is, so the whole collection runs) */
  selected = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->selection));
  n = gtk_bitset_get_size (selected);
  g_clear_pointer (&self->detect_only, g_array_unref);
  if (n > 1 && g_str_equal (gtk_stack_get_visible_child_name (self->stack), "gallery"))
    {
      GtkBitsetIter iter;
      guint position;
      self->detect_only = g_array_sized_new (FALSE, FALSE, sizeof (gint64), (guint) n);
      for (gboolean ok = gtk_bitset_iter_init_first (&iter, selected, &position); ok;
           ok = gtk_bitset_iter_next (&iter, &position))
        {
          g_autoptr (QrImageItem) item = g_list_model_get_item (G_LIST_MODEL (self->images), position);
          gint64 id = item ? qr_image_item_get_id (item) : -1;
          if (id > 0)
            g_array_append_val (self->detect_only, id);
        }
      {
        g_autofree char *label = g_strdup_printf (_("Detecting objects in %u selected images…"), self->detect_only->len);
        start_job_with (self, run_detect_job, label);
      }
      return;
    }
  start_job_with (self, run_detect_job, _("Detecting objects…"));
}

/* Heatmap (H): CenterNet's class scores for the image on screen, computed on a thread and kept;
 * shown colour-mapped (dark red → yellow → white, the score as alpha) for the selected box's
 * class, or the maximum over all classes when no box is selected. */
typedef struct _HeatRaw
{
  float  *data;      /* rows × cols × classes */
  int     rows, cols, classes;
  double  cell_size;
  char  **names;     /* the detector's class names */
} HeatRaw;

static void
heat_raw_free (HeatRaw *raw)
{
  if (raw == NULL)
    return;
  g_free (raw->data);
  g_strfreev (raw->names);
  g_free (raw);
}

typedef struct
{
  char        *path;
  QrDetector **detector;   /* the window's, created on first use */
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
  g_autoptr (QrImage) image = qr_image_load (job->path, NULL, 0, &error);
  g_autoptr (GArray) found = NULL;
  const float *heat;
  float to_cell;
  HeatRaw *raw;

  if (image == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_mutex_lock (job->lock);
  if (*job->detector == NULL)
    {
      g_autofree char *model = qr_find_model ("centernet", &error);
      *job->detector = model ? qr_detector_load (model, NULL, &error) : NULL;
    }
  if (*job->detector == NULL
      || (found = qr_detector_detect (*job->detector, image, job_cancelled, cancellable, &error)) == NULL)
    {
      g_mutex_unlock (job->lock);
      g_task_return_error (task, error);
      return;
    }
  raw = g_new0 (HeatRaw, 1);
  heat = qr_detector_get_heatmap (*job->detector, &raw->rows, &raw->cols, &raw->classes, &to_cell);
  raw->data = g_memdup2 (heat, sizeof (float) * (gsize) raw->rows * (gsize) raw->cols * (gsize) raw->classes);
  raw->names = g_new0 (char *, raw->classes + 1);
  for (int c = 0; c < raw->classes; c++)
    raw->names[c] = g_strdup (qr_detector_get_class_name (*job->detector, c));
  g_mutex_unlock (job->lock);
  raw->cell_size = 1.0 / to_cell;
  g_task_return_pointer (task, raw, (GDestroyNotify) heat_raw_free);
}

/* Colours the kept scores for the selected box's class (all classes when none is selected or the
 * detector has no such class). */
static void
show_heatmap (QrWindow *self)
{
  HeatRaw *raw = self->heat_raw;
  GPtrArray *boxes = qr_canvas_get_overlays (self->canvas);
  int selected = qr_canvas_get_selected (self->canvas), only = -1;
  guint8 *rgba;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GdkTexture) texture = NULL;

  if (!self->heat_on || raw == NULL)
    return;
  if (boxes != NULL && selected >= 0 && (guint) selected < boxes->len)
    {
      const char *name = ((QrOverlayBox *) boxes->pdata[selected])->class_name;
      for (int c = 0; c < raw->classes && only < 0; c++)
        if (g_str_equal (raw->names[c], name))
          only = c;
    }
  rgba = g_malloc ((gsize) raw->rows * (gsize) raw->cols * 4);
  for (int i = 0; i < raw->rows * raw->cols; i++)
    {
      const float *cell = raw->data + (gsize) i * (gsize) raw->classes;
      float v = 0;
      if (only >= 0)
        v = cell[only];
      else
        for (int c = 0; c < raw->classes; c++)
          v = fmaxf (v, cell[c]);
      v = CLAMP (v * 1.6f, 0, 1); /* scores rarely pass 0.6: stretch so that peaks read as bright */
      rgba[i * 4 + 0] = (guint8) (255 * MIN (1, v * 2));
      rgba[i * 4 + 1] = (guint8) (255 * CLAMP (v * 2 - 0.6, 0, 1));
      rgba[i * 4 + 2] = (guint8) (255 * CLAMP (v * 3 - 2, 0, 1));
      rgba[i * 4 + 3] = (guint8) (255 * v);
    }
  bytes = g_bytes_new_take (rgba, (gsize) raw->rows * (gsize) raw->cols * 4);
  texture = gdk_memory_texture_new (raw->cols, raw->rows, GDK_MEMORY_R8G8B8A8, bytes, (gsize) raw->cols * 4);
  qr_canvas_set_heatmap (self->canvas, texture, raw->cell_size);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->heat_box), only >= 0 ? raw->names[only] : _("All classes"));
}

static void
heatmap_selection_changed (QrCanvas *canvas, QrWindow *self)
{
  show_heatmap (self);
}

static void
heatmap_ready (GObject *source, GAsyncResult *result, gpointer data)
{
  QrWindow *self = QR_WINDOW (source);
  g_autoptr (GError) error = NULL;
  HeatRaw *raw = g_task_propagate_pointer (G_TASK (result), &error);

  if (raw == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        toast (self, error->message);
      return;
    }
  heat_raw_free (self->heat_raw);
  self->heat_raw = raw;
  show_heatmap (self);
}

static void
request_heatmap (QrWindow *self)
{
  g_autoptr (QrImageRecord) image = NULL;
  g_autoptr (GTask) task = NULL;
  HeatJob *job;

  qr_canvas_set_heatmap (self->canvas, NULL, 1);
  g_clear_pointer (&self->heat_raw, heat_raw_free);
  gtk_widget_set_visible (GTK_WIDGET (self->heat_box), self->heat_on);
  if (!self->heat_on || self->catalog == NULL || self->disposing
      || (image = qr_catalog_get_image (self->catalog, self->viewer_image_id, NULL)) == NULL)
    return;
  job = g_new0 (HeatJob, 1);
  job->path = qr_catalog_resolve_path (self->catalog, image->path);
  job->detector = &self->heat_detector;
  job->lock = &self->heat_lock;
  task = g_task_new (self, self->viewer_cancellable, heatmap_ready, NULL);
  g_task_set_task_data (task, job, (GDestroyNotify) heat_job_free);
  run_tracked (task, compute_heatmap);
}

static void
heat_opacity_changed (GtkRange *range, QrWindow *self)
{
  qr_canvas_set_heatmap_opacity (self->canvas, gtk_range_get_value (range));
}

static void
action_heatmap (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);

  self->heat_on = !self->heat_on;
  request_heatmap (self);
}

static void
action_undo_redo (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);
  g_autoptr (GError) error = NULL;
  gboolean ok;

  if (self->history == NULL)
    return;
  ok = g_str_equal (name, "win.undo") ? qr_history_undo (self->history, &error) : qr_history_redo (self->history, &error);
  if (!ok)
    toast (self, error->message);
  qr_canvas_reload (self->canvas);   /* an undone decision puts its item back in the inspector */
  rebuild_sidebar (self);
}

static void
action_reindex (GtkWidget *widget, const char *name, GVariant *param)
{
  start_job (QR_WINDOW (widget));
}

static void
action_cancel_job (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);

  if (self->job_cancellable != NULL)
    g_cancellable_cancel (self->job_cancellable);
}

static void
action_show_gallery (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);
  guint n;

  if (self->viewer_cancellable != NULL)
    g_cancellable_cancel (self->viewer_cancellable);
  qr_canvas_set_image (self->canvas, NULL, 0, 0);
  qr_canvas_set_overlays (self->canvas, NULL);
  /* Edits in the viewer change badges and may move images out of the current view. */
  qr_image_list_reload (self->images, NULL);
  update_subtitle (self);
  show_page (self, "gallery");
  n = g_list_model_get_n_items (G_LIST_MODEL (self->images));
  if (n > 0)
    gtk_widget_activate_action (GTK_WIDGET (self->grid_view), "list.scroll-to-item", "u",
                                MIN (self->viewer_position, n - 1));
}

static void
action_step_image (GtkWidget *widget, const char *name, GVariant *param)
{
  QrWindow *self = QR_WINDOW (widget);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->images));
  gboolean next = g_str_equal (name, "win.next-image");

  if (n == 0)
    return;
  if (next && self->viewer_position + 1 < n)
    show_image_at (self, self->viewer_position + 1);
  else if (!next && self->viewer_position > 0)
    show_image_at (self, self->viewer_position - 1);
}

static gboolean
close_request (GtkWindow *window)
{
  QrWindow *self = QR_WINDOW (window);

  if (self->job_cancellable != NULL)
    g_cancellable_cancel (self->job_cancellable);
  if (self->settings != NULL)
    {
      int width, height;
      gtk_window_get_default_size (window, &width, &height);
      g_settings_set_int (self->settings, "window-width", width);
      g_settings_set_int (self->settings, "window-height", height);
      g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));
    }
  return GTK_WINDOW_CLASS (qr_window_parent_class)->close_request (window);
}

static void
qr_window_dispose (GObject *object)
{
  QrWindow *self = QR_WINDOW (object);

  self->disposing = TRUE;
  if (self->job_cancellable != NULL)
    g_cancellable_cancel (self->job_cancellable);
  if (self->viewer_cancellable != NULL)
    g_cancellable_cancel (self->viewer_cancellable);
  /* the viewer's workers (the job, if any, holds a reference and ends before this runs) */
  if (!qr_jobs_wait_owner (self, 30 * G_USEC_PER_SEC))
    g_warning ("the viewer's background work still running after 30 s");
  gtk_widget_dispose_template (GTK_WIDGET (self), QR_TYPE_WINDOW);
  g_clear_object (&self->selection);
  g_clear_pointer (&self->detect_only, g_array_unref);
  g_clear_object (&self->images);
  g_clear_object (&self->history);
  g_clear_object (&self->catalog);
  g_clear_object (&self->settings);
  g_mutex_lock (&self->heat_lock);
  g_clear_pointer (&self->heat_detector, qr_detector_free);
  g_mutex_unlock (&self->heat_lock);
  g_clear_pointer (&self->heat_raw, heat_raw_free);
  g_clear_pointer (&self->review_items, g_ptr_array_unref);
  g_clear_pointer (&self->review_class_ids, g_array_unref);
  g_clear_object (&self->job_cancellable);
  g_clear_object (&self->viewer_cancellable);
  g_clear_pointer (&self->job_stalls, qr_stall_monitor_free);
  G_OBJECT_CLASS (qr_window_parent_class)->dispose (object);
}

static void
qr_window_finalize (GObject *object)
{
  g_mutex_clear (&QR_WINDOW (object)->heat_lock);
  g_free (QR_WINDOW (object)->collection);
  G_OBJECT_CLASS (qr_window_parent_class)->finalize (object);
}

static void
qr_window_class_init (QrWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = qr_window_dispose;
  object_class->finalize = qr_window_finalize;
  GTK_WINDOW_CLASS (klass)->close_request = close_request;

  g_type_ensure (QR_TYPE_CANVAS);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/quorum/Quorum/ui/qr-window.ui");
  gtk_widget_class_bind_template_child (widget_class, QrWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, status_page);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, grid_view);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, canvas);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, inspector);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, heat_box);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, layers_button);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, review_class_dropdown);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, layers_box);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, heat_scale);
  gtk_widget_class_bind_template_callback (widget_class, heat_opacity_changed);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, inspector_flap);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, sidebar_flap);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, back_button);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, score_box);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, score_scale);
  gtk_widget_class_bind_template_callback (widget_class, score_changed);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, job_revealer);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, job_label);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, job_progress);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, job_rate);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, recent_section);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, sidebar);

  gtk_widget_class_install_action (widget_class, "win.open-folder", NULL, action_open_folder);
  gtk_widget_class_install_action (widget_class, "win.open-recent", "s", action_open_recent);
  gtk_widget_class_install_action (widget_class, "win.reindex", NULL, action_reindex);
  gtk_widget_class_install_action (widget_class, "win.export", NULL, action_export);
  gtk_widget_class_install_action (widget_class, "win.detect", NULL, action_detect);
  gtk_widget_class_install_action (widget_class, "win.undo", NULL, action_undo_redo);
  gtk_widget_class_install_action (widget_class, "win.heatmap", NULL, action_heatmap);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_h, 0, "win.heatmap", NULL);
  gtk_widget_class_install_action (widget_class, "win.redo", NULL, action_undo_redo);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK, "win.undo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.redo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Z, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.redo", NULL);
  gtk_widget_class_install_action (widget_class, "win.cancel-job", NULL, action_cancel_job);
  gtk_widget_class_install_action (widget_class, "win.preferences", NULL, action_preferences);
  gtk_widget_class_install_action (widget_class, "win.inspector", NULL, action_inspector);
  gtk_widget_class_install_action (widget_class, "win.evaluate", NULL, action_evaluate);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_i, GDK_CONTROL_MASK, "win.evaluate", NULL);
  gtk_widget_class_install_action (widget_class, "review.accept", NULL, action_review);
  gtk_widget_class_install_action (widget_class, "review.keep", NULL, action_review);
  gtk_widget_class_install_action (widget_class, "review.edit", NULL, action_review);
  gtk_widget_class_install_action (widget_class, "review.skip", NULL, action_review);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_y, 0, "review.accept", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_n, 0, "review.keep", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_e, 0, "review.edit", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, 0, "review.skip", NULL);
  gtk_widget_class_install_action (widget_class, "win.update-review", NULL, action_update_review);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F9, 0, "win.inspector", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_comma, GDK_CONTROL_MASK, "win.preferences", NULL);
  gtk_widget_class_install_action (widget_class, "win.show-gallery", NULL, action_show_gallery);
  gtk_widget_class_install_action (widget_class, "win.next-image", NULL, action_step_image);
  gtk_widget_class_install_action (widget_class, "win.previous-image", NULL, action_step_image);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "win.open-folder", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F5, 0, "win.reindex", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_e, GDK_CONTROL_MASK, "win.export", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_r, GDK_CONTROL_MASK, "win.detect", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_period, GDK_CONTROL_MASK, "win.cancel-job", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "win.show-gallery", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_j, 0, "win.next-image", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Page_Down, 0, "win.next-image", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Right, 0, "win.next-image", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_k, 0, "win.previous-image", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Page_Up, 0, "win.previous-image", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, 0, "win.previous-image", NULL);
}

static void
qr_window_init (QrWindow *self)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();

  gtk_widget_init_template (GTK_WIDGET (self));
  g_mutex_init (&self->heat_lock);

  self->images = qr_image_list_new ();
  self->selection = gtk_multi_selection_new (g_object_ref (G_LIST_MODEL (self->images)));
  gtk_grid_view_set_enable_rubberband (self->grid_view, TRUE);
  g_signal_connect (factory, "setup", G_CALLBACK (cell_setup), self);
  g_signal_connect (factory, "bind", G_CALLBACK (cell_bind), self);
  g_signal_connect (factory, "unbind", G_CALLBACK (cell_unbind), self);
  gtk_grid_view_set_factory (self->grid_view, factory);
  g_object_unref (factory);
  gtk_grid_view_set_model (self->grid_view, GTK_SELECTION_MODEL (self->selection));
  g_signal_connect (self->grid_view, "activate", G_CALLBACK (grid_activated), self);
  g_signal_connect (self->canvas, "changed", G_CALLBACK (inspector_update), self);
  g_signal_connect (self->canvas, "changed", G_CALLBACK (layers_update), self);
  g_signal_connect (self->canvas, "selection-changed", G_CALLBACK (inspector_follow_selection), self);
  g_signal_connect (self->canvas, "selection-changed", G_CALLBACK (heatmap_selection_changed), self);
  g_signal_connect (self->canvas, "changed", G_CALLBACK (heatmap_selection_changed), self);
  g_signal_connect (self->inspector, "row-selected", G_CALLBACK (inspector_selected), self);
  g_signal_connect (self->sidebar, "row-selected", G_CALLBACK (sidebar_selected), self);
  g_signal_connect (self->review_class_dropdown, "notify::selected", G_CALLBACK (review_class_selected), self);
  gtk_widget_set_name (GTK_WIDGET (self->review_class_dropdown), "review-class");
  gtk_widget_set_name (GTK_WIDGET (self->sidebar), "sidebar");

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.reindex", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.export", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.detect", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.undo", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.redo", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.cancel-job", FALSE);
  show_page (self, "empty");
}

static void
sort_order_changed (QrWindow *self)
{
  GtkListBoxRow *row = gtk_list_box_get_selected_row (self->sidebar);

  if (row != NULL)
    sidebar_selected (self->sidebar, row, self);
}

QrWindow *
qr_window_new (GtkApplication *application, GSettings *settings)
{
  QrWindow *self = g_object_new (QR_TYPE_WINDOW, "application", application, NULL);

  if (settings != NULL)
    {
      self->settings = g_object_ref (settings);
      gtk_window_set_default_size (GTK_WINDOW (self), g_settings_get_int (settings, "window-width"),
                                   g_settings_get_int (settings, "window-height"));
      if (g_settings_get_boolean (settings, "window-maximized"))
        gtk_window_maximize (GTK_WINDOW (self));
      rebuild_recent_menu (self);
      {
        /* Sort order: a stateful action over the setting, shown in the main menu. */
        g_autoptr (GSimpleActionGroup) group = g_simple_action_group_new ();
        g_autoptr (GAction) sort = g_settings_create_action (settings, "sort-order");

        g_settings_bind (settings, "score-threshold", gtk_range_get_adjustment (GTK_RANGE (self->score_scale)), "value",
                         G_SETTINGS_BIND_DEFAULT);
        g_action_map_add_action (G_ACTION_MAP (group), sort);
        gtk_widget_insert_action_group (GTK_WIDGET (self), "view", G_ACTION_GROUP (group));
        g_signal_connect_object (settings, "changed::models-folder", G_CALLBACK (models_folder_changed), self, 0);
        models_folder_changed (settings, "models-folder", self);
        g_signal_connect_object (settings, "changed::sort-order", G_CALLBACK (sort_order_changed), self,
                                 G_CONNECT_SWAPPED);
      }
    }
  return self;
}
