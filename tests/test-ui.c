/* test-ui.c: the gallery model and the main window, driven through the same actions a user
 * triggers. Needs a display (CI runs it under Xvfb); skipped without one. */
#include "qr-image-list.h"
#include "qr-indexer.h"
#include "qr-thumbnailer.h"
#include "qr-window.h"
#include "qr-export-dialog.h"
#include "qr-canvas.h"
#include "qr-history.h"
#include "qr-dataset.h"
#include "qr-preferences.h"
#include "qr-review.h"
#include "qr-eval-window.h"
#include "quorum-config.h"
#include "test-util.h"

#include <string.h>
#include <glib/gstdio.h>

void quorum_register_resource (void);

static gboolean have_display;
static GtkWidget *find_type (GtkWidget *root, GType type);

/* n copies of a demo photo named like prefix00.jpg, each with one byte changed so that no two
 * files share a hash (the indexer would take them for one file moved). */
static void
copy_photo_variants (const char *dir, const char *photo, int n, const char *prefix)
{
  g_autofree char *from = g_build_filename (QUORUM_DEMO_DIR, photo, NULL);
  g_autofree char *bytes = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (from, &bytes, &len, NULL));
  for (int i = 0; i < n; i++)
    {
      g_autofree char *to = g_strdup_printf ("%s/%s%02d.jpg", dir, prefix, i);
      bytes[len - 3] = (char) i;
      test_write_bytes (to, bytes, len);
    }
}
static GtkWidget *find_named (GtkWidget *root, const char *name);

static void
spin_until (gboolean (*done) (gpointer), gpointer data, double timeout_s)
{
  gint64 end = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);

  while (!done (data) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);
  g_assert_true (done (data));
}

static void
spin_for (double seconds)
{
  gint64 end = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);

  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);
}

static gboolean
has_thumbnail (gpointer item)
{
  return qr_image_item_get_thumbnail (item) != NULL;
}

static void
count_notify (guint *count)
{
  (*count)++;
}

static void
test_image_list (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  g_autofree char *db = g_build_filename (tmp, "demo.sqlite", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (QrCatalog) catalog = qr_catalog_open (QUORUM_DEMO_DIR, db, &error);
  g_autoptr (QrImageList) list = qr_image_list_new ();
  g_autoptr (QrImageItem) first = NULL;
  g_autoptr (QrImageItem) again = NULL;
  GdkTexture *texture;

  if (!have_display)
    {
      g_test_skip ("no display");
      return;
    }
  g_assert_true (qr_index_collection (catalog, NULL, NULL, NULL, NULL, NULL, &error));
  g_assert_true (qr_thumbnails_update (catalog, NULL, NULL, NULL, NULL, NULL, &error));
  g_assert_true (qr_image_list_set_catalog (list, catalog, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 18);
  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (list)) == QR_TYPE_IMAGE_ITEM);
  g_assert_null (g_list_model_get_item (G_LIST_MODEL (list), 18));

  first = g_list_model_get_item (G_LIST_MODEL (list), 0);
  g_assert_cmpstr (qr_image_item_get_path (first), ==, "darknet-dog.jpg");
  g_assert_cmpint (qr_image_item_get_width (first), ==, 768);
  /* Items are made once and shared while alive. */
  again = g_list_model_get_item (G_LIST_MODEL (list), 0);
  g_assert_true (first == again);

  g_assert_null (qr_image_item_get_thumbnail (first));
  qr_image_item_request_thumbnail (first);
  spin_until (has_thumbnail, first, 10);
  texture = qr_image_item_get_thumbnail (first);
  g_assert_cmpint (gdk_texture_get_width (texture), ==, 256);
  g_assert_cmpint (gdk_texture_get_height (texture), ==, 192);
  g_assert_cmpuint (qr_image_list_get_n_loaded_thumbnails (list), ==, 1);

  /* Badges: a new label shows in the item's count after a reload, with a notify; the
   * Unlabeled view then leaves the image out. */
  {
    QrBox box = { 10, 10, 100, 100 };
    gint64 dog = qr_catalog_ensure_class (catalog, "dog", &error);
    guint notified = 0;

    g_assert_cmpint (qr_image_item_get_n_labels (first), ==, 0);
    g_signal_connect_swapped (first, "notify::n-labels", G_CALLBACK (count_notify), &notified);
    g_assert_cmpint (qr_catalog_add_label (catalog, qr_image_item_get_id (first), dog, &box,
                                           QR_LABEL_SOURCE_DRAWN, NULL, &error), >, 0);
    g_assert_true (qr_image_list_reload (list, &error));
    g_assert_cmpint (qr_image_item_get_n_labels (first), ==, 1);
    g_assert_cmpint (qr_image_item_get_n_detections (first), ==, 0);
    g_assert_cmpuint (notified, ==, 1);
    g_assert_true (qr_image_list_set_view (list, QR_VIEW_UNLABELED, 0, QR_SORT_NAME, &error));
    g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 17);
    g_assert_true (qr_image_list_set_view (list, QR_VIEW_LABELED, 0, QR_SORT_NAME, &error));
    g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 1);
    g_assert_no_error (error);
  }
  test_remove_tree (tmp);
}

static gboolean
window_idle (gpointer window)
{
  return !qr_window_is_busy (window);
}

static void
test_window (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  g_autoptr (GError) error = NULL;
  QrWindow *window;
  GtkWidget *stack;

  if (!have_display)
    {
      g_test_skip ("no display");
      return;
    }
  /* A collection with two good images and one that is not an image. */
  for (int i = 0; i < 2; i++)
    {
      g_autoptr (QrImage) image = test_gradient_image (320, 200, (guint) i);
      g_autofree char *path = g_strdup_printf ("%s/img%d.jpg", tmp, i);
      test_write_jpeg (path, image, 1);
    }
  {
    g_autofree char *bad = g_build_filename (tmp, "broken.png", NULL);
    test_write_bytes (bad, "nope", 4);
  }

  window = qr_window_new (NULL, NULL);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (qr_window_open_collection (window, tmp, &error));
  g_assert_no_error (error);
  g_assert_true (qr_window_is_busy (window));
  spin_until (window_idle, window, 30);
  /* Readable images first, then the unreadable one, with its reason. */
  g_assert_cmpuint (g_list_model_get_n_items (qr_window_get_images (window)), ==, 3);
  {
    g_autoptr (QrImageItem) bad = g_list_model_get_item (qr_window_get_images (window), 2);
    g_assert_cmpint (qr_image_item_get_state (bad), ==, QR_IMAGE_STATE_UNREADABLE);
    g_assert_nonnull (qr_image_item_get_reason (bad));
  }

  /* The same actions the keyboard triggers: open the viewer, step, go back. */
  stack = gtk_widget_get_first_child (GTK_WIDGET (window));
  g_assert_nonnull (stack);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.reindex", NULL));
  spin_until (window_idle, window, 30);
  gtk_window_destroy (GTK_WINDOW (window));
  test_remove_tree (tmp);
}

/* Without a D-Bus session (a bare CI machine) GTK warns that it cannot reach one: that is the
 * environment, not the code under test, so that one message is let through as a debug line. */
static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal (fields[i].key, "MESSAGE") && fields[i].length < 0
        && strstr (fields[i].value, "session bus") != NULL)
      level = G_LOG_LEVEL_DEBUG;
  return g_log_writer_default (level, fields, n_fields, data);
}

static gboolean
dialog_idle (gpointer dialog)
{
  return !qr_export_dialog_is_busy (dialog);
}

static void
test_export_dialog (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  g_autofree char *images = g_build_filename (tmp, "shots", NULL);
  g_autofree char *db = g_build_filename (tmp, "c.sqlite", NULL);
  g_autofree char *exported = g_build_filename (tmp, "shots-coco", "annotations", "instances_train.json", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (QrCatalog) catalog = NULL;
  QrExportDialog *dialog;

  if (!have_display)
    {
      g_test_skip ("no display");
      return;
    }
  g_mkdir (images, 0700);
  for (int i = 0; i < 4; i++)
    {
      g_autoptr (QrImage) image = test_gradient_image (64, 48, (guint) i);
      g_autofree char *path = g_strdup_printf ("%s/%d.jpg", images, i);
      test_write_jpeg (path, image, 1);
    }
  catalog = qr_catalog_open (images, db, &error);
  g_assert_true (qr_index_collection (catalog, NULL, NULL, NULL, NULL, NULL, &error));

  /* The defaults: COCO, all labels, a 0.9 split, seed 0, into the chosen folder. */
  dialog = qr_export_dialog_new (NULL, images, db);
  qr_export_dialog_set_folder (dialog, tmp);
  gtk_window_present (GTK_WINDOW (dialog));
  qr_export_dialog_start (dialog);
  g_assert_true (qr_export_dialog_is_busy (dialog));
  spin_until (dialog_idle, dialog, 30);
  g_assert_true (g_file_test (exported, G_FILE_TEST_IS_REGULAR));
  gtk_window_destroy (GTK_WINDOW (dialog));
  test_remove_tree (tmp);
}

static void
test_canvas (void)
{
  GtkWidget *window, *canvas;
  g_autoptr (GBytes) pixels = NULL;
  g_autoptr (GdkTexture) texture = NULL;
  GPtrArray *overlays = g_ptr_array_new_with_free_func ((GDestroyNotify) qr_overlay_box_free);
  const char *sources[] = { "label", "centernet", "nanodet" };
  float scores[] = { 1.0f, 0.8f, 0.1f };

  if (!have_display)
    {
      g_test_skip ("no display");
      return;
    }
  pixels = g_bytes_new_take (g_malloc0 (64 * 48 * 3), 64 * 48 * 3);
  texture = gdk_memory_texture_new (64, 48, GDK_MEMORY_R8G8B8, pixels, 64 * 3);
  for (int i = 0; i < 3; i++)
    {
      QrOverlayBox *b = g_new0 (QrOverlayBox, 1);
      b->class_name = g_strdup ("dog");
      b->source = g_strdup (sources[i]);
      b->score = scores[i];
      b->is_label = i == 0;
      b->box = (QrBox) { 10, 10, 40, 30 };
      g_ptr_array_add (overlays, b);
    }
  window = gtk_window_new ();
  canvas = qr_canvas_new ();
  gtk_window_set_child (GTK_WINDOW (window), canvas);
  gtk_window_set_default_size (GTK_WINDOW (window), 320, 240);
  gtk_window_present (GTK_WINDOW (window));
  qr_canvas_set_image (QR_CANVAS (canvas), texture, 640, 480);
  qr_canvas_set_overlays (QR_CANVAS (canvas), overlays);
  /* the label and the confident detection; the 0.1 one is under the 0.3 threshold */
  g_assert_cmpuint (qr_canvas_get_n_visible_boxes (QR_CANVAS (canvas)), ==, 2);
  qr_canvas_set_score_threshold (QR_CANVAS (canvas), 0.05);
  g_assert_cmpuint (qr_canvas_get_n_visible_boxes (QR_CANVAS (canvas)), ==, 3);
  for (int i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_true (gtk_widget_activate_action (canvas, "canvas.zoom-in", NULL));
  g_assert_cmpfloat (qr_canvas_get_zoom (QR_CANVAS (canvas)), >, 1.0);
  g_assert_true (gtk_widget_activate_action (canvas, "canvas.zoom-fit", NULL));
  g_assert_cmpfloat (qr_canvas_get_zoom (QR_CANVAS (canvas)), ==, 1.0);
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_window_detect (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  g_autofree char *from = g_build_filename (QUORUM_DEMO_DIR, "darknet-dog.jpg", NULL);
  g_autofree char *to = g_build_filename (tmp, "dog.jpg", NULL);
  g_autofree char *bytes = NULL;
  g_autoptr (GError) error = NULL;
  gsize len;
  QrWindow *window;

  if (!have_display)
    {
      g_test_skip ("no display");
      return;
    }
  if (!g_file_test (QUORUM_SOURCE_DIR "/../shared/models/pretrained/centernet.json", G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("the pretrained models are not beside the source tree");
      return;
    }
  g_assert_true (g_file_get_contents (from, &bytes, &len, NULL));
  test_write_bytes (to, bytes, len);
  window = qr_window_new (NULL, NULL);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (qr_window_open_collection (window, tmp, &error));
  spin_until (window_idle, window, 30);
  /* the index job's last frames (the gallery replacing the empty page, the sidebar filled) are
   * drawn before the detection starts, so its stall below is the detection's own */
  spin_for (0.5);
  /* The same action Ctrl+R triggers: CenterNet over the collection, stored as a run. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.detect", NULL));
  g_assert_true (qr_window_is_busy (window));
  spin_until (window_idle, window, 60);
  /* The viewer's inspector lists the boxes drawn, each with its class and score; choosing a row
   * selects that box on the canvas. */
  {
    GtkWidget *grid = qr_window_get_grid_view (window);
    QrCanvas *canvas = NULL;
    GtkWidget *inspector = NULL, *row;
    guint rows = 0, visible = 0;
    GPtrArray *boxes;
    gint64 end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
    g_signal_emit_by_name (grid, "activate", 0);
    canvas = QR_CANVAS (find_type (GTK_WIDGET (window), QR_TYPE_CANVAS));
    inspector = find_named (GTK_WIDGET (window), "inspector");
    g_assert_nonnull (canvas);
    g_assert_nonnull (inspector);
    /* the photo loads in a worker: wait for it (and its boxes), not for a number of iterations */
    while (qr_canvas_get_overlays (canvas) == NULL && g_get_monotonic_time () < end)
      g_main_context_iteration (NULL, FALSE);
    for (int i = 0; i < 20; i++)
      g_main_context_iteration (NULL, FALSE);
    boxes = qr_canvas_get_overlays (canvas);
    g_assert_nonnull (boxes);
    for (guint i = 0; i < boxes->len; i++)
      visible += qr_canvas_is_box_visible (canvas, i);
    for (GtkWidget *c = gtk_widget_get_first_child (inspector); c != NULL; c = gtk_widget_get_next_sibling (c))
      rows += ADW_IS_ACTION_ROW (c);
    g_assert_cmpuint (visible, >=, 3);
    g_assert_cmpuint (rows, ==, visible);
    row = gtk_widget_get_next_sibling (gtk_widget_get_first_child (inspector));
    gtk_list_box_select_row (GTK_LIST_BOX (inspector), GTK_LIST_BOX_ROW (row));
    g_assert_cmpint (qr_canvas_get_selected (canvas), ==,
                     GPOINTER_TO_INT (g_object_get_data (G_OBJECT (row), "overlay-index")));
    g_assert_cmpint (qr_canvas_get_selected (canvas), >=, 0);

    /* Layers: turning CenterNet's boxes off hides them on the canvas and in the inspector */
    qr_canvas_set_layer_visible (canvas, "centernet", FALSE);
    g_assert_cmpuint (qr_canvas_get_n_visible_boxes (canvas), ==, 0);
    rows = 0;
    for (GtkWidget *c = gtk_widget_get_first_child (inspector); c != NULL; c = gtk_widget_get_next_sibling (c))
      rows += ADW_IS_ACTION_ROW (c);
    g_assert_cmpuint (rows, ==, 0);
    qr_canvas_set_layer_visible (canvas, "centernet", TRUE);
    g_assert_cmpuint (qr_canvas_get_n_visible_boxes (canvas), ==, visible);
  }
  /* measured, not asserted (no timings in tests): `quorum bench gallery` reports it */
  g_test_message ("main loop's longest stall during the detection run: %.1f ms",
                  (double) qr_window_get_last_job_stall_us (window) / 1000.0);
  {
    g_autoptr (QrCatalog) catalog = qr_catalog_open (tmp, NULL, &error);
    QrCatalogStats stats;
    g_assert_true (qr_catalog_get_stats (catalog, &stats, &error));
    g_assert_cmpint (stats.runs, ==, 1);
    g_assert_cmpint (stats.detections, >=, 3);
  }
  gtk_window_destroy (GTK_WINDOW (window));
  test_remove_tree (tmp);
}

static void
test_canvas_editing (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  g_autofree char *db = g_build_filename (tmp, "c.sqlite", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (QrCatalog) catalog = NULL;
  g_autoptr (QrHistory) history = NULL;
  g_autoptr (QrImageRecord) record = qr_image_record_new ();
  QrBox box = { 10, 20, 110, 120 }, got;
  gint64 dog, cat, model, run, class_id;
  GtkWidget *window, *canvas;
  QrCatalogStats stats;
  int det_index = -1;

  if (!have_display)
    {
      g_test_skip ("no display");
      return;
    }
  catalog = qr_catalog_open (tmp, db, &error);
  record->path = g_strdup ("x.jpg");
  record->width = 640;
  record->height = 480;
  g_assert_true (qr_catalog_put_image (catalog, record, &error));
  dog = qr_catalog_ensure_class (catalog, "dog", &error);
  cat = qr_catalog_ensure_class (catalog, "cat", &error);
  model = qr_catalog_add_model (catalog, "centernet", "tfjs", NULL, &error);
  run = qr_catalog_start_run (catalog, model, "{}", &error);
  g_assert_cmpint (qr_catalog_add_detection (catalog, run, record->id, dog, 0.9, &box, &error), >, 0);
  history = qr_history_new (catalog);

  window = gtk_window_new ();
  canvas = qr_canvas_new ();
  gtk_window_set_child (GTK_WINDOW (window), canvas);
  gtk_window_present (GTK_WINDOW (window));
  qr_canvas_set_editing (QR_CANVAS (canvas), history, record->id);
  qr_canvas_reload (QR_CANVAS (canvas));
  det_index = 0; /* the only box: the detection */
  qr_canvas_select (QR_CANVAS (canvas), det_index);

  /* Reject (R/X): stored — the box is gone from the catalog's overlays — and undoable. */
  g_assert_true (gtk_widget_activate_action (canvas, "canvas.reject", NULL));
  {
    g_autoptr (GPtrArray) overlays = qr_catalog_list_overlays (catalog, record->id, &error);
    g_assert_cmpuint (overlays->len, ==, 0);
  }
  g_assert_true (qr_history_undo (history, &error));
  qr_canvas_reload (QR_CANVAS (canvas));
  qr_canvas_select (QR_CANVAS (canvas), det_index);
  /* Accept (Enter/A): the detection becomes a label, selected. */
  g_assert_true (gtk_widget_activate_action (canvas, "canvas.accept", NULL));
  g_assert_true (qr_catalog_get_stats (catalog, &stats, &error));
  g_assert_cmpint (stats.labels, ==, 1);
  g_assert_cmpint (qr_canvas_get_selected (QR_CANVAS (canvas)), >=, 0);
  {
    /* The accepted box is drawn once, as the label, not also as the model's dashed box. */
    g_autoptr (GPtrArray) overlays = qr_catalog_list_overlays (catalog, record->id, &error);
    g_assert_cmpuint (overlays->len, ==, 1);
    g_assert_true (((QrOverlayBox *) overlays->pdata[0])->is_label);
  }
  /* 2 gives it the second class (cat); Alt+Right nudges it one pixel. */
  g_assert_true (gtk_widget_activate_action (canvas, "canvas.class", "i", 2));
  g_assert_true (gtk_widget_activate_action (canvas, "canvas.nudge", "(ii)", 1, 0));
  {
    g_autoptr (GPtrArray) labels = qr_catalog_list_labels (catalog, QR_LABEL_FILTER_ALL, &error);
    QrLabelRecord *l = labels->pdata[0];
    g_assert_cmpint (l->class_id, ==, cat);
    g_assert_cmpfloat (l->box.x1, ==, 11);
    g_assert_true (qr_catalog_get_label (catalog, l->id, &class_id, &got, &error));
  }
  /* Delete, then undo it, then undo the nudge. */
  g_assert_true (gtk_widget_activate_action (canvas, "canvas.delete", NULL));
  g_assert_true (qr_catalog_get_stats (catalog, &stats, &error));
  g_assert_cmpint (stats.labels, ==, 0);
  g_assert_true (qr_history_undo (history, &error));
  g_assert_true (qr_history_undo (history, &error));
  {
    g_autoptr (GPtrArray) labels = qr_catalog_list_labels (catalog, QR_LABEL_FILTER_ALL, &error);
    g_assert_cmpuint (labels->len, ==, 1);
    g_assert_cmpfloat (((QrLabelRecord *) labels->pdata[0])->box.x1, ==, 10);
  }
  /* C opens the class picker: typing part of a name and Enter takes the first match; a name
   * that matches nothing becomes a new class; each is one undo step. */
  {
    GtkWidget *popover = NULL, *entry;
    gint64 zebra;

    qr_canvas_reload (QR_CANVAS (canvas));
    qr_canvas_select (QR_CANVAS (canvas), 0);   /* labels come first */
    g_assert_true (gtk_widget_activate_action (canvas, "canvas.pick-class", NULL));
    for (GtkWidget *c = gtk_widget_get_first_child (canvas); c != NULL; c = gtk_widget_get_next_sibling (c))
      if (GTK_IS_POPOVER (c))
        popover = c;
    g_assert_nonnull (popover);
    entry = gtk_widget_get_first_child (gtk_popover_get_child (GTK_POPOVER (popover)));
    g_assert_true (GTK_IS_SEARCH_ENTRY (entry));
    gtk_editable_set_text (GTK_EDITABLE (entry), "DO");
    g_signal_emit_by_name (entry, "activate");
    {
      g_autoptr (GPtrArray) labels = qr_catalog_list_labels (catalog, QR_LABEL_FILTER_ALL, &error);
      g_assert_cmpuint (labels->len, ==, 1);
      g_assert_cmpint (((QrLabelRecord *) labels->pdata[0])->class_id, ==, dog);
    }
    g_assert_true (gtk_widget_activate_action (canvas, "canvas.pick-class", NULL));
    gtk_editable_set_text (GTK_EDITABLE (entry), "zebra");
    g_signal_emit_by_name (entry, "activate");
    {
      g_autoptr (GPtrArray) classes = qr_catalog_list_classes (catalog, &error);
      g_assert_true (g_ptr_array_find_with_equal_func (classes, "zebra", g_str_equal, NULL));
    }
    zebra = qr_catalog_ensure_class (catalog, "zebra", &error);   /* the existing id */
    {
      g_autoptr (GPtrArray) labels = qr_catalog_list_labels (catalog, QR_LABEL_FILTER_ALL, &error);
      g_assert_cmpint (((QrLabelRecord *) labels->pdata[0])->class_id, ==, zebra);
    }
    g_assert_true (qr_history_undo (history, &error));
    {
      g_autoptr (GPtrArray) labels = qr_catalog_list_labels (catalog, QR_LABEL_FILTER_ALL, &error);
      g_assert_cmpint (((QrLabelRecord *) labels->pdata[0])->class_id, ==, dog);
    }
    g_assert_no_error (error);
  }

  /* Drags, through the canvas's own drag gesture as a pointer would drive it: move the label,
   * resize it by its bottom-right handle, draw a new box after B; then undo all three. */
  {
    g_autoptr (QrImage) pixels = qr_image_new (640, 480);
    g_autoptr (GBytes) bytes = g_bytes_new (pixels->pixels, 640 * 480 * 3);
    g_autoptr (GdkTexture) texture = gdk_memory_texture_new (640, 480, GDK_MEMORY_R8G8B8, bytes, 640 * 3);
    GtkGesture *drag = NULL, *click = NULL;
    g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (canvas);
    double x1, y1, x2, y2, cx, cy;
    QrBox before, after, start;
    gint64 label_id;

    gtk_window_set_default_size (GTK_WINDOW (window), 700, 520);
    qr_canvas_set_image (QR_CANVAS (canvas), texture, 640, 480);
    while (gtk_widget_get_width (canvas) < 600)
      g_main_context_iteration (NULL, TRUE);
    qr_canvas_zoom_fit (QR_CANVAS (canvas));
    for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
      {
        g_autoptr (GObject) c = g_list_model_get_item (controllers, i);
        if (GTK_IS_GESTURE_DRAG (c))
          drag = GTK_GESTURE (c);
        else if (GTK_IS_GESTURE_CLICK (c))
          click = GTK_GESTURE (c);
      }
    g_assert_nonnull (drag);
    g_assert_nonnull (click);
    qr_canvas_reload (QR_CANVAS (canvas));
    {
      g_autoptr (GPtrArray) labels = qr_catalog_list_labels (catalog, QR_LABEL_FILTER_ALL, &error);
      label_id = ((QrLabelRecord *) labels->pdata[0])->id;
      before = start = ((QrLabelRecord *) labels->pdata[0])->box;
    }
    qr_canvas_image_to_widget (QR_CANVAS (canvas), before.x1, before.y1, &x1, &y1);
    qr_canvas_image_to_widget (QR_CANVAS (canvas), before.x2, before.y2, &x2, &y2);
    cx = (x1 + x2) / 2, cy = (y1 + y2) / 2;

    /* click selects the label under the pointer; a drag from inside it moves it */
    g_signal_emit_by_name (click, "pressed", 1, cx, cy);
    g_assert_cmpint (qr_canvas_get_selected (QR_CANVAS (canvas)), >=, 0);
    g_signal_emit_by_name (drag, "drag-begin", cx, cy);
    g_signal_emit_by_name (drag, "drag-update", 40.0, 20.0);
    g_signal_emit_by_name (drag, "drag-end", 40.0, 20.0);
    g_assert_true (qr_catalog_get_label (catalog, label_id, &class_id, &after, &error));
    {
      double s = (x2 - x1) / (before.x2 - before.x1);   /* widget pixels per image pixel */
      g_assert_cmpfloat (fabs (after.x1 - (before.x1 + 40 / s)), <, 0.01);
      g_assert_cmpfloat (fabs (after.y1 - (before.y1 + 20 / s)), <, 0.01);
      g_assert_cmpfloat (fabs ((after.x2 - after.x1) - (before.x2 - before.x1)), <, 0.01);

      /* the bottom-right handle: only x2 and y2 follow */
      before = after;
      qr_canvas_image_to_widget (QR_CANVAS (canvas), before.x2, before.y2, &x2, &y2);
      g_signal_emit_by_name (drag, "drag-begin", x2, y2);
      g_signal_emit_by_name (drag, "drag-update", 30.0, 10.0);
      g_signal_emit_by_name (drag, "drag-end", 30.0, 10.0);
      g_assert_true (qr_catalog_get_label (catalog, label_id, &class_id, &after, &error));
      g_assert_cmpfloat (after.x1, ==, before.x1);
      g_assert_cmpfloat (after.y1, ==, before.y1);
      g_assert_cmpfloat (fabs (after.x2 - (before.x2 + 30 / s)), <, 0.01);
      g_assert_cmpfloat (fabs (after.y2 - (before.y2 + 10 / s)), <, 0.01);

      /* B, then a drag on empty space draws a new label there */
      g_assert_true (gtk_widget_activate_action (canvas, "canvas.draw", NULL));
      qr_canvas_image_to_widget (QR_CANVAS (canvas), 400, 300, &cx, &cy);
      g_signal_emit_by_name (drag, "drag-begin", cx, cy);
      g_signal_emit_by_name (drag, "drag-update", 50.0, 60.0);
      g_signal_emit_by_name (drag, "drag-end", 50.0, 60.0);
      {
        g_autoptr (GPtrArray) labels = qr_catalog_list_labels (catalog, QR_LABEL_FILTER_ALL, &error);
        QrLabelRecord *drawn = NULL;
        g_assert_cmpuint (labels->len, ==, 2);
        for (guint i = 0; i < labels->len; i++)
          if (((QrLabelRecord *) labels->pdata[i])->id != label_id)
            drawn = labels->pdata[i];
        g_assert_nonnull (drawn);
        g_assert_cmpfloat (fabs (drawn->box.x1 - 400), <, 0.01);
        g_assert_cmpfloat (fabs (drawn->box.y1 - 300), <, 0.01);
        g_assert_cmpfloat (fabs (drawn->box.x2 - (400 + 50 / s)), <, 0.01);
        g_assert_cmpfloat (fabs (drawn->box.y2 - (300 + 60 / s)), <, 0.01);
      }
    }
    /* three undos: the drawn box goes, the resize and the move are taken back */
    for (int k = 0; k < 3; k++)
      g_assert_true (qr_history_undo (history, &error));
    {
      g_autoptr (GPtrArray) labels = qr_catalog_list_labels (catalog, QR_LABEL_FILTER_ALL, &error);
      QrBox orig;
      g_assert_cmpuint (labels->len, ==, 1);
      g_assert_true (qr_catalog_get_label (catalog, label_id, &class_id, &orig, &error));
      g_assert_cmpfloat (orig.x1, ==, start.x1);
      g_assert_cmpfloat (orig.y1, ==, start.y1);
      g_assert_cmpfloat (orig.x2, ==, start.x2);
      g_assert_cmpfloat (orig.y2, ==, start.y2);
    }
    /* at fit size a plain drag on empty space draws too (there is nothing to pan); zoomed in, the
     * same drag pans and draws nothing */
    {
      g_autoptr (GPtrArray) labels = NULL;
      double px, py, qx, qy;
      qr_canvas_reload (QR_CANVAS (canvas));
      qr_canvas_image_to_widget (QR_CANVAS (canvas), 400, 300, &cx, &cy);
      g_signal_emit_by_name (drag, "drag-begin", cx, cy);
      g_signal_emit_by_name (drag, "drag-update", 30.0, 30.0);
      g_signal_emit_by_name (drag, "drag-end", 30.0, 30.0);
      labels = qr_catalog_list_labels (catalog, QR_LABEL_FILTER_ALL, &error);
      g_assert_cmpuint (labels->len, ==, 2);
      g_assert_true (qr_history_undo (history, &error));
      g_clear_pointer (&labels, g_ptr_array_unref);
      qr_canvas_reload (QR_CANVAS (canvas));
      g_signal_emit_by_name (click, "pressed", 1, cx, cy);   /* nothing there: nothing selected */
      g_assert_cmpint (qr_canvas_get_selected (QR_CANVAS (canvas)), <, 0);
      g_assert_true (gtk_widget_activate_action (canvas, "canvas.zoom-in", NULL));
      g_assert_true (gtk_widget_activate_action (canvas, "canvas.zoom-in", NULL));
      qr_canvas_image_to_widget (QR_CANVAS (canvas), 400, 300, &px, &py);
      g_signal_emit_by_name (drag, "drag-begin", px, py);
      g_signal_emit_by_name (drag, "drag-update", 30.0, 30.0);
      g_signal_emit_by_name (drag, "drag-end", 30.0, 30.0);
      labels = qr_catalog_list_labels (catalog, QR_LABEL_FILTER_ALL, &error);
      g_assert_cmpuint (labels->len, ==, 1);
      qr_canvas_image_to_widget (QR_CANVAS (canvas), 400, 300, &qx, &qy);
      g_assert_cmpfloat (fabs (qx - (px + 30)), <, 0.01);   /* the image moved with the pointer */
      g_assert_cmpfloat (fabs (qy - (py + 30)), <, 0.01);
      qr_canvas_zoom_fit (QR_CANVAS (canvas));
    }
    g_assert_no_error (error);
  }
  gtk_window_destroy (GTK_WINDOW (window));
  test_remove_tree (tmp);
}

static GtkWidget *
find_type (GtkWidget *root, GType type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type))
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_type (c, type);
      if (found != NULL)
        return found;
    }
  return NULL;
}

/* A long job stays cancellable: Detect over 48 photos, cancelled once the first batch is stored, stops
 * within a batch; the images done are kept, the rest stay to do, and a second Detect resumes. */
static gboolean
first_image_done (gpointer tmp)
{
  g_autoptr (QrCatalog) catalog = qr_catalog_open (tmp, NULL, NULL);
  QrCatalogStats stats;
  return catalog != NULL && qr_catalog_get_stats (catalog, &stats, NULL) && stats.detections > 0;
}

static void
test_cancel_detect (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  g_autoptr (GError) error = NULL;
  QrWindow *window;
  guint left;

  if (!have_display)
    {
      g_test_skip ("no display");
      return;
    }
  if (!g_file_test (QUORUM_SOURCE_DIR "/../shared/models/pretrained/centernet.json", G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("the pretrained models are not beside the source tree");
      return;
    }
  copy_photo_variants (tmp, "darknet-horses.jpg", 48, "horses");
  window = qr_window_new (NULL, NULL);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (qr_window_open_collection (window, tmp, &error));
  spin_until (window_idle, window, 30);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.detect", NULL));
  spin_until (first_image_done, tmp, 60);
  g_assert_true (qr_window_is_busy (window));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.cancel-job", NULL));
  spin_until (window_idle, window, 30);
  {
    g_autoptr (QrCatalog) catalog = qr_catalog_open (tmp, NULL, &error);
    g_autoptr (GPtrArray) models = qr_catalog_list_models (catalog, &error);
    gint64 run = qr_catalog_latest_run (catalog, ((QrModelRecord *) models->pdata[0])->id, &error);
    g_autoptr (GPtrArray) todo = qr_catalog_list_images_to_run (catalog, run, &error);
    left = todo->len;
    g_test_message ("cancelled with %u of 48 images left to do", left);
    g_assert_cmpuint (left, >, 0);
    g_assert_cmpuint (left, <, 48);
  }
  /* Detect again: the same run resumes and finishes the rest */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.detect", NULL));
  spin_until (window_idle, window, 120);
  {
    g_autoptr (QrCatalog) catalog = qr_catalog_open (tmp, NULL, &error);
    g_autoptr (GPtrArray) models = qr_catalog_list_models (catalog, &error);
    gint64 run = qr_catalog_latest_run (catalog, ((QrModelRecord *) models->pdata[0])->id, &error);
    g_autoptr (GPtrArray) todo = qr_catalog_list_images_to_run (catalog, run, &error);
    QrCatalogStats stats;
    g_assert_cmpuint (todo->len, ==, 0);
    g_assert_true (qr_catalog_get_stats (catalog, &stats, &error));
    g_assert_cmpint (stats.runs, ==, 1);
  }
  gtk_window_destroy (GTK_WINDOW (window));
  test_remove_tree (tmp);
}

/* The review queue in the app: the Review Queue view lists the image with an open item, the
 * viewer's inspector shows the item with a bar per peer, Y accepts the consensus (the label's
 * class is corrected and the item leaves), Ctrl+Z puts both back. */
static void
test_review_queue (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  g_autoptr (GError) error = NULL;
  g_autoptr (QrImage) pixels = test_gradient_image (640, 480, 5);
  g_autofree char *path = g_build_filename (tmp, "dog.jpg", NULL);
  QrBox dog_box = { 100, 100, 300, 400 };
  gint64 label, dog, cat, class_id;
  QrWindow *window;
  GtkWidget *sidebar, *inspector, *mistake_row = NULL;
  QrBox got;

  if (!have_display)
    {
      g_test_skip ("no display");
      return;
    }
  test_write_jpeg (path, pixels, 1);
  {
    /* two peers agree on a dog where the label says cat (runs written here, as a detector would) */
    g_autoptr (QrCatalog) catalog = qr_catalog_open (tmp, NULL, &error);
    g_autoptr (GPtrArray) images = NULL;
    gint64 image, a, b, run_a, run_b;
    g_assert_true (qr_index_collection (catalog, NULL, NULL, NULL, NULL, NULL, &error));
    images = qr_catalog_list_images (catalog, -1, &error);
    image = ((QrImageRecord *) images->pdata[0])->id;
    dog = qr_catalog_ensure_class (catalog, "dog", &error);
    cat = qr_catalog_ensure_class (catalog, "cat", &error);
    label = qr_catalog_add_label (catalog, image, cat, &dog_box, QR_LABEL_SOURCE_IMPORTED, NULL, &error);
    a = qr_catalog_add_model (catalog, "peer-a", "tfjs", NULL, &error);
    b = qr_catalog_add_model (catalog, "peer-b", "tfjs", NULL, &error);
    run_a = qr_catalog_start_run (catalog, a, "{}", &error);
    run_b = qr_catalog_start_run (catalog, b, "{}", &error);
    qr_catalog_add_detection (catalog, run_a, image, dog, 0.9, &dog_box, &error);
    qr_catalog_add_detection (catalog, run_b, image, dog, 0.85, &dog_box, &error);
    g_assert_cmpint (qr_review_update (catalog, NULL, &error), >=, 1);
    g_assert_no_error (error);
  }

  window = qr_window_new (NULL, NULL);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (qr_window_open_collection (window, tmp, &error));
  spin_until (window_idle, window, 30);
  /* the Review Queue row of the sidebar (the first: every kind) */
  sidebar = find_named (GTK_WIDGET (window), "sidebar");
  g_assert_nonnull (sidebar);
  for (GtkWidget *row = gtk_widget_get_first_child (sidebar); row != NULL; row = gtk_widget_get_next_sibling (row))
    if (GPOINTER_TO_INT (g_object_get_data (G_OBJECT (row), "view")) == QR_VIEW_REVIEW)
      {
        gtk_list_box_select_row (GTK_LIST_BOX (sidebar), GTK_LIST_BOX_ROW (row));
        break;
      }
  g_assert_true (qr_image_list_get_view (QR_IMAGE_LIST (qr_window_get_images (window)), NULL) == QR_VIEW_REVIEW);
  g_assert_cmpuint (g_list_model_get_n_items (qr_window_get_images (window)), ==, 1);
  {
    g_autoptr (QrImageItem) item = g_list_model_get_item (qr_window_get_images (window), 0);
    g_assert_cmpfloat (qr_image_item_get_mistake_score (item), >, 0.5);
  }
  /* the class filter: every class with open items (the consensus's dog, the label's cat) */
  {
    GtkWidget *dropdown = find_named (GTK_WIDGET (window), "review-class");
    GListModel *choices;
    gboolean saw_dog = FALSE, saw_cat = FALSE;
    g_assert_nonnull (dropdown);
    g_assert_true (gtk_widget_get_visible (dropdown));
    choices = gtk_drop_down_get_model (GTK_DROP_DOWN (dropdown));
    g_assert_cmpuint (g_list_model_get_n_items (choices), ==, 3);
    for (guint i = 1; i < 3; i++)
      {
        const char *text = gtk_string_list_get_string (GTK_STRING_LIST (choices), i);
        saw_dog |= g_str_has_prefix (text, "dog (1)");
        saw_cat |= g_str_has_prefix (text, "cat (1)");
      }
    g_assert_true (saw_dog && saw_cat);
    gtk_drop_down_set_selected (GTK_DROP_DOWN (dropdown), 1);
    g_assert_cmpuint (g_list_model_get_n_items (qr_window_get_images (window)), ==, 1);
    gtk_drop_down_set_selected (GTK_DROP_DOWN (dropdown), 0);
    g_assert_cmpuint (g_list_model_get_n_items (qr_window_get_images (window)), ==, 1);
  }
  g_signal_emit_by_name (qr_window_get_grid_view (window), "activate", 0);
  for (int i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  inspector = find_named (GTK_WIDGET (window), "inspector");
  for (GtkWidget *c = gtk_widget_get_first_child (inspector); c != NULL && mistake_row == NULL; c = gtk_widget_get_next_sibling (c))
    if (g_object_get_data (G_OBJECT (c), "mistake-index") != NULL)
      mistake_row = c;
  g_assert_nonnull (mistake_row);
  g_assert_true (gtk_widget_has_css_class (mistake_row, "inspector-mistake"));
  gtk_list_box_select_row (GTK_LIST_BOX (inspector), GTK_LIST_BOX_ROW (mistake_row));

  /* the heatmap (H) on: the items stay where Y can reach them */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.heatmap", NULL));
  /* Y: accept the consensus */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "review.accept", NULL));
  {
    g_autoptr (QrCatalog) catalog = qr_catalog_open (tmp, NULL, &error);
    g_autoptr (GPtrArray) open = qr_catalog_list_open_mistakes (catalog, -1, &error);
    g_assert_true (qr_catalog_get_label (catalog, label, &class_id, &got, &error));
    g_assert_cmpint (class_id, ==, dog);
    g_assert_cmpuint (open->len, ==, 0);
  }
  /* Evaluation (Ctrl+I): both peers found the one labelled box; they agree with each other */
  {
    g_autoptr (QrCatalog) catalog = qr_catalog_open (tmp, NULL, &error);
    QrEvalWindow *eval_window = qr_eval_window_new (GTK_WINDOW (window), catalog, TRUE);
    const QrCollectionEval *eval;
    gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
    gtk_window_present (GTK_WINDOW (eval_window));
    while (qr_eval_window_get_eval (eval_window) == NULL && qr_eval_window_get_message (eval_window) == NULL
           && g_get_monotonic_time () < end)
      g_main_context_iteration (NULL, FALSE);
    eval = qr_eval_window_get_eval (eval_window);
    g_assert_nonnull (eval);
    g_assert_cmpuint (eval->peer_names->len, ==, 2);
    g_assert_cmpuint (eval->n_images, ==, 1);
    g_assert_cmpfloat (eval->map50[0], ==, 1.0);          /* the label is a dog now: found at IoU 1 */
    g_assert_cmpfloat (eval->agreement[0 * 2 + 1], ==, 1.0);
    gtk_window_destroy (GTK_WINDOW (eval_window));
  }
  /* Ctrl+Z: the label is a cat again and the item is back */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.undo", NULL));
  {
    g_autoptr (QrCatalog) catalog = qr_catalog_open (tmp, NULL, &error);
    g_autoptr (GPtrArray) open = qr_catalog_list_open_mistakes (catalog, -1, &error);
    g_assert_true (qr_catalog_get_label (catalog, label, &class_id, &got, &error));
    g_assert_cmpint (class_id, ==, cat);
    g_assert_cmpuint (open->len, >=, 1);
  }
  /* back in the gallery, Y decides nothing: there is no image on screen */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-gallery", NULL));
  gtk_widget_activate_action (GTK_WIDGET (window), "review.accept", NULL);
  {
    g_autoptr (QrCatalog) catalog = qr_catalog_open (tmp, NULL, &error);
    g_assert_true (qr_catalog_get_label (catalog, label, &class_id, &got, &error));
    g_assert_cmpint (class_id, ==, cat);
  }
  gtk_window_destroy (GTK_WINDOW (window));
  test_remove_tree (tmp);
}

/* Detect over a selection of the gallery: only the selected images run; Detect again with one
 * image selected runs the rest of the same run. */
static void
test_detect_selection (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  g_autoptr (GError) error = NULL;
  GtkSelectionModel *selection;
  QrWindow *window;

  if (!have_display)
    {
      g_test_skip ("no display");
      return;
    }
  if (!g_file_test (QUORUM_SOURCE_DIR "/../shared/models/pretrained/centernet.json", G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("the pretrained models are not beside the source tree");
      return;
    }
  copy_photo_variants (tmp, "darknet-dog.jpg", 3, "dog");
  window = qr_window_new (NULL, NULL);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (qr_window_open_collection (window, tmp, &error));
  spin_until (window_idle, window, 30);
  selection = gtk_grid_view_get_model (GTK_GRID_VIEW (qr_window_get_grid_view (window)));
  g_assert_true (gtk_selection_model_select_item (selection, 0, TRUE));
  g_assert_true (gtk_selection_model_select_item (selection, 2, FALSE));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.detect", NULL));
  spin_until (window_idle, window, 60);
  {
    g_autoptr (QrCatalog) catalog = qr_catalog_open (tmp, NULL, &error);
    g_autoptr (GPtrArray) models = qr_catalog_list_models (catalog, &error);
    gint64 run = qr_catalog_latest_run (catalog, ((QrModelRecord *) models->pdata[0])->id, &error);
    g_autoptr (GPtrArray) todo = qr_catalog_list_images_to_run (catalog, run, &error);
    g_assert_cmpuint (todo->len, ==, 1);
    g_assert_cmpstr (((QrImageRecord *) todo->pdata[0])->path, ==, "dog01.jpg");
  }
  g_assert_true (gtk_selection_model_select_item (selection, 1, TRUE));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.detect", NULL));
  spin_until (window_idle, window, 60);
  {
    g_autoptr (QrCatalog) catalog = qr_catalog_open (tmp, NULL, &error);
    QrCatalogStats stats;
    g_autoptr (GPtrArray) models = qr_catalog_list_models (catalog, &error);
    gint64 run = qr_catalog_latest_run (catalog, ((QrModelRecord *) models->pdata[0])->id, &error);
    g_autoptr (GPtrArray) todo = qr_catalog_list_images_to_run (catalog, run, &error);
    g_assert_cmpuint (todo->len, ==, 0);
    g_assert_true (qr_catalog_get_stats (catalog, &stats, &error));
    g_assert_cmpint (stats.runs, ==, 1);
  }
  gtk_window_destroy (GTK_WINDOW (window));
  test_remove_tree (tmp);
}

/* The app's settings from the schema compiled into the build tree, kept in memory. */
static GSettings *
build_settings (void)
{
  g_autoptr (GSettingsSchemaSource) source =
    g_settings_schema_source_new_from_directory (QUORUM_BUILD_SCHEMA_DIR, g_settings_schema_source_get_default (), FALSE,
                                                 NULL);
  g_autoptr (GSettingsSchema) schema = source ? g_settings_schema_source_lookup (source, QUORUM_APP_ID, FALSE) : NULL;
  return schema ? g_settings_new_full (schema, NULL, NULL) : NULL;
}

static GtkWidget *
find_named (GtkWidget *root, const char *name)
{
  if (g_strcmp0 (gtk_widget_get_name (root), name) == 0)
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_named (c, name);
      if (found != NULL)
        return found;
    }
  return NULL;
}

/* Preferences: choosing NanoDet as the model in the dialog makes Detect (Ctrl+R) run NanoDet and
 * store its run under that name; the score threshold set there is the run's. */
static void
test_preferences (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  g_autofree char *from = g_build_filename (QUORUM_DEMO_DIR, "darknet-dog.jpg", NULL);
  g_autofree char *to = g_build_filename (tmp, "dog.jpg", NULL);
  g_autofree char *bytes = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSettings) settings = NULL;
  GtkWidget *prefs, *row;
  GListModel *names;
  QrWindow *window;
  gsize len;
  guint nanodet = G_MAXUINT;

  if (!have_display || (settings = build_settings ()) == NULL)
    {
      g_test_skip (have_display ? "the settings schema is not compiled in the build tree" : "no display");
      return;
    }
  if (!g_file_test (QUORUM_SOURCE_DIR "/../shared/models/pretrained/nanodet.json", G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("the pretrained models are not beside the source tree");
      return;
    }
  g_assert_true (g_file_get_contents (from, &bytes, &len, NULL));
  test_write_bytes (to, bytes, len);
  window = qr_window_new (NULL, settings);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (qr_window_open_collection (window, tmp, &error));
  spin_until (window_idle, window, 30);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.preferences", NULL));
  prefs = qr_preferences_new (GTK_WINDOW (window), settings);
  gtk_window_present (GTK_WINDOW (prefs));
  row = find_named (prefs, "model-row");
  g_assert_nonnull (row);
  names = adw_combo_row_get_model (ADW_COMBO_ROW (row));
  for (guint i = 0; i < g_list_model_get_n_items (names); i++)
    if (g_str_equal (gtk_string_list_get_string (GTK_STRING_LIST (names), i), "nanodet"))
      nanodet = i;
  g_assert_cmpuint (nanodet, !=, G_MAXUINT);
  adw_combo_row_set_selected (ADW_COMBO_ROW (row), nanodet);
  g_assert_cmpstr (g_settings_get_string (settings, "detect-model"), ==, "nanodet");
  g_settings_set_double (settings, "detect-threshold", 0.5);
  gtk_window_destroy (GTK_WINDOW (prefs));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.detect", NULL));
  spin_until (window_idle, window, 60);
  {
    g_autoptr (QrCatalog) catalog = qr_catalog_open (tmp, NULL, &error);
    g_autoptr (GPtrArray) models = qr_catalog_list_models (catalog, &error);
    g_autoptr (GArray) dets = NULL;
    g_assert_cmpuint (models->len, ==, 1);
    g_assert_cmpstr (((QrModelRecord *) models->pdata[0])->name, ==, "nanodet");
    dets = qr_catalog_list_detections (catalog, qr_catalog_latest_run (catalog, ((QrModelRecord *) models->pdata[0])->id,
                                                                        &error), &error);
    g_assert_cmpuint (dets->len, >, 0);
    for (guint i = 0; i < dets->len; i++)
      g_assert_cmpfloat (g_array_index (dets, QrDetectionRecord, i).score, >=, 0.5f);
  }
  gtk_window_destroy (GTK_WINDOW (window));
  test_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_log_set_writer_func (log_writer, NULL, NULL);
  have_display = gtk_init_check ();
  if (have_display)
    {
      quorum_register_resource ();
      adw_init ();
    }
  g_test_add_func ("/ui/image-list/lazy-items-and-thumbnails", test_image_list);
  g_test_add_func ("/ui/window/open-index-reindex", test_window);
  g_test_add_func ("/ui/export-dialog/exports", test_export_dialog);
  g_test_add_func ("/ui/canvas/overlays-and-zoom", test_canvas);
  g_test_add_func ("/ui/canvas/accept-relabel-nudge-delete-undo", test_canvas_editing);
  g_test_add_func ("/ui/window/detect-action-stores-a-run", test_window_detect);
  g_test_add_func ("/ui/preferences/model-and-threshold-drive-detect", test_preferences);
  g_test_add_func ("/ui/window/long-detect-cancels-and-resumes", test_cancel_detect);
  g_test_add_func ("/ui/window/detect-over-a-selection", test_detect_selection);
  g_test_add_func ("/ui/review/accept-then-undo", test_review_queue);
  {
    int status = g_test_run ();
    qr_window_stop_workers ();
    return status;
  }
}
