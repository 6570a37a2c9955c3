/* test-ui.c: the gallery model, the main window and its dialogs, driven through the same actions
 * a user triggers: opening and indexing, Detect over the collection or a selection, cancelling
 * and resuming, exporting, preferences. The viewer is test-viewer.c's. Needs a display (CI runs
 * it under Xvfb); skipped without one. */
#include "qr-image-list.h"
#include "qr-indexer.h"
#include "qr-thumbnailer.h"
#include "qr-window.h"
#include "qr-export-dialog.h"
#include "qr-import-dialog.h"
#include "qr-canvas.h"
#include "qr-history.h"
#include "qr-dataset.h"
#include "qr-preferences.h"
#include "qr-review.h"
#include "qr-eval-window.h"
#include "qr-caption-model-window.h"
#include "qr-scenes.h"
#include "qr-scorer.h"
#include "qr-job-bar.h"
#include "quorum-config.h"
#include "test-util.h"
#include "test-ui-util.h"

#include <string.h>
#include <glib/gstdio.h>

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

  if (!test_ui_have_display ())
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
  test_ui_spin_until (has_thumbnail, first, 10);
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

static void
test_window (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  g_autoptr (GError) error = NULL;
  QrWindow *window;
  GtkWidget *stack;

  if (!test_ui_have_display ())
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
  test_ui_spin_until (test_ui_window_idle, window, 30);
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
  test_ui_spin_until (test_ui_window_idle, window, 30);
  gtk_window_destroy (GTK_WINDOW (window));
  test_remove_tree (tmp);
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

  if (!test_ui_have_display ())
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

  /* The defaults: COCO, all labels, a 0.9 split, seed 0, beside the collection (tmp/shots-coco). */
  dialog = qr_export_dialog_new (NULL, images, db);
  g_assert_cmpstr (qr_export_dialog_get_folder (dialog), ==, tmp);
  g_assert_null (qr_export_dialog_get_last_export (dialog));
  gtk_window_present (GTK_WINDOW (dialog));
  qr_export_dialog_start (dialog);
  g_assert_true (qr_export_dialog_is_busy (dialog));
  test_ui_spin_until (dialog_idle, dialog, 30);
  g_assert_true (g_file_test (exported, G_FILE_TEST_IS_REGULAR));
  {
    g_autofree char *made = g_build_filename (tmp, "shots-coco", NULL);
    g_assert_cmpstr (qr_export_dialog_get_last_export (dialog), ==, made);
  }
  /* reviewed images only: none is reviewed yet, and the dialog says why nothing was written; one
     marked reviewed, and the export holds it alone */
  qr_export_dialog_set_labels (dialog, "reviewed");
  qr_export_dialog_start (dialog);
  test_ui_spin_until (dialog_idle, dialog, 30);
  g_assert_nonnull (strstr (qr_export_dialog_get_message (dialog), "nothing to export: no image is marked reviewed"));
  {
    g_autoptr (GArray) ids = qr_catalog_list_image_ids (catalog, -1, &error);
    g_assert_true (qr_catalog_set_reviewed (catalog, g_array_index (ids, gint64, 0), "reviewed", &error));
    qr_export_dialog_start (dialog);
    test_ui_spin_until (dialog_idle, dialog, 30);
    g_assert_nonnull (strstr (qr_export_dialog_get_message (dialog), "Exported 1 images"));
  }
  gtk_window_destroy (GTK_WINDOW (dialog));
  test_remove_tree (tmp);
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

  if (!test_ui_have_display ())
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
  test_ui_spin_until (test_ui_window_idle, window, 30);
  /* the index job's last frames (the gallery replacing the empty page, the sidebar filled) are
   * drawn before the detection starts, so its stall below is the detection's own */
  spin_for (0.5);
  /* no model boxes yet: Detect waits in the header */
  g_assert_true (gtk_widget_get_visible (test_ui_find_named (GTK_WIDGET (window), "detect-button")));
  /* The same action Ctrl+R triggers: CenterNet over the collection, stored as a run. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.detect", NULL));
  g_assert_true (qr_window_is_busy (window));
  test_ui_spin_until (test_ui_window_idle, window, 60);
  g_assert_nonnull (strstr (qr_window_get_last_toast (window), " detections"));
  g_assert_false (gtk_widget_get_visible (test_ui_find_named (GTK_WIDGET (window), "detect-button")));
  /* again: nothing new to do, and it says so */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.detect", NULL));
  test_ui_spin_until (test_ui_window_idle, window, 60);
  g_assert_nonnull (strstr (qr_window_get_last_toast (window), "images already done"));
  g_assert_true (g_str_has_prefix (qr_window_get_last_toast (window), "centernet: all "));
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
    canvas = QR_CANVAS (test_ui_find_type (GTK_WIDGET (window), QR_TYPE_CANVAS));
    inspector = test_ui_find_named (GTK_WIDGET (window), "inspector");
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
    /* the box rows (the captions' rows come before them) */
    row = NULL;
    for (GtkWidget *c = gtk_widget_get_first_child (inspector); c != NULL; c = gtk_widget_get_next_sibling (c))
      if (gtk_widget_has_css_class (c, "inspector-label") || gtk_widget_has_css_class (c, "inspector-model"))
        {
          rows++;
          if (rows == 2)
            row = c;
        }
    g_assert_cmpuint (visible, >=, 3);
    g_assert_cmpuint (rows, ==, visible);
    g_assert_nonnull (row);
    gtk_list_box_select_row (GTK_LIST_BOX (inspector), GTK_LIST_BOX_ROW (row));
    g_assert_cmpint (qr_canvas_get_selected (canvas), ==,
                     GPOINTER_TO_INT (g_object_get_data (G_OBJECT (row), "overlay-index")));
    g_assert_cmpint (qr_canvas_get_selected (canvas), >=, 0);

    /* Layers: turning CenterNet's boxes off hides them on the canvas and in the inspector */
    qr_canvas_set_layer_visible (canvas, "centernet", FALSE);
    g_assert_cmpuint (qr_canvas_get_n_visible_boxes (canvas), ==, 0);
    rows = 0;
    for (GtkWidget *c = gtk_widget_get_first_child (inspector); c != NULL; c = gtk_widget_get_next_sibling (c))
      rows += gtk_widget_has_css_class (c, "inspector-label") || gtk_widget_has_css_class (c, "inspector-model");
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

  if (!test_ui_have_display ())
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
  test_ui_spin_until (test_ui_window_idle, window, 30);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.detect", NULL));
  test_ui_spin_until (first_image_done, tmp, 60);
  g_assert_true (qr_window_is_busy (window));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.cancel-job", NULL));
  test_ui_spin_until (test_ui_window_idle, window, 30);
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
  test_ui_spin_until (test_ui_window_idle, window, 120);
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

/* Detect over a selection of the gallery: only the selected images run; Detect again with one
 * image selected runs the rest of the same run. */
static void
test_detect_selection (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  g_autoptr (GError) error = NULL;
  GtkSelectionModel *selection;
  QrWindow *window;

  if (!test_ui_have_display ())
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
  test_ui_spin_until (test_ui_window_idle, window, 30);
  selection = gtk_grid_view_get_model (GTK_GRID_VIEW (qr_window_get_grid_view (window)));
  g_assert_true (gtk_selection_model_select_item (selection, 0, TRUE));
  g_assert_true (gtk_selection_model_select_item (selection, 2, FALSE));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.detect", NULL));
  test_ui_spin_until (test_ui_window_idle, window, 60);
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
  test_ui_spin_until (test_ui_window_idle, window, 60);
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

  if (!test_ui_have_display () || (settings = build_settings ()) == NULL)
    {
      g_test_skip (test_ui_have_display () ? "the settings schema is not compiled in the build tree" : "no display");
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
  test_ui_spin_until (test_ui_window_idle, window, 30);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.preferences", NULL));
  prefs = qr_preferences_new (GTK_WINDOW (window), settings);
  gtk_window_present (GTK_WINDOW (prefs));
  row = test_ui_find_named (prefs, "model-row");
  g_assert_nonnull (row);
  names = adw_combo_row_get_model (ADW_COMBO_ROW (row));
  for (guint i = 0; i < g_list_model_get_n_items (names); i++)
    if (g_str_equal (gtk_string_list_get_string (GTK_STRING_LIST (names), i), "nanodet"))
      nanodet = i;
  g_assert_cmpuint (nanodet, !=, G_MAXUINT);
  adw_combo_row_set_selected (ADW_COMBO_ROW (row), nanodet);
  g_assert_cmpstr (g_settings_get_string (settings, "detect-model"), ==, "nanodet");
  g_settings_set_double (settings, "detect-threshold", 0.5);
  /* the review's "next image after the last decision" is a switch there */
  {
    GtkWidget *advance = test_ui_find_named (prefs, "advance-after-review");
    g_assert_nonnull (advance);
    g_assert_true (g_settings_get_boolean (settings, "advance-after-review"));
    gtk_switch_set_active (GTK_SWITCH (advance), FALSE);
    g_assert_false (g_settings_get_boolean (settings, "advance-after-review"));
    gtk_switch_set_active (GTK_SWITCH (advance), TRUE);
  }
  gtk_window_destroy (GTK_WINDOW (prefs));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.detect", NULL));
  test_ui_spin_until (test_ui_window_idle, window, 60);
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

static QrCaptionModelWindow *
find_caption_window (void)
{
  GListModel *tops = gtk_window_get_toplevels ();   /* transfer none */
  for (guint i = 0; i < g_list_model_get_n_items (tops); i++)
    {
      g_autoptr (GObject) w = g_list_model_get_item (tops, i);
      if (QR_IS_CAPTION_MODEL_WINDOW (w))
        return QR_CAPTION_MODEL_WINDOW (w);
    }
  return NULL;
}

static gboolean
caption_epoch_saved (gpointer data)
{
  return strstr (qr_caption_model_window_get_summary (data), "Unfinished training run: epoch 1 of 400") != NULL;
}

/* Train Caption Model from its window, as a user does on 120 drawn scenes with a caption each:
 * the window says there is no model, Train runs the features and the epochs as the window's job,
 * the plot gets a point per epoch and the summary says the model is in use (and the dmsm scorer
 * opens on it); a second run stopped after its first epoch is left to resume. */
static void
test_caption_model_window (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  g_autoptr (GError) error = NULL;
  QrCaptionModelWindow *dialog;
  QrWindow *window;

  if (!test_ui_have_display ())
    {
      g_test_skip ("no display");
      return;
    }
  if (!g_file_test (QUORUM_SOURCE_DIR "/../shared/models/pretrained/centernet.json", G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("the pretrained models are not beside the source tree");
      return;
    }
  {
    g_autoptr (QrCatalog) catalog = NULL;
    for (guint i = 0; i < 120; i++)
      {
        QrScene scene;
        g_autoptr (QrImage) image = NULL;
        g_autofree char *name = g_strdup_printf ("scene-%03u.png", i);
        g_autofree char *path = g_build_filename (tmp, name, NULL);
        qr_scene_generate (3, i, FALSE, &scene);
        image = qr_scene_render (&scene, 128);
        g_assert_true (qr_image_save_png (image, path, &error));
      }
    catalog = qr_catalog_open (tmp, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (qr_index_collection (catalog, NULL, NULL, NULL, NULL, NULL, &error));
    for (guint i = 0; i < 120; i++)
      {
        QrScene scene;
        g_autofree char *name = g_strdup_printf ("scene-%03u.png", i);
        g_autofree char *caption = NULL;
        g_autoptr (QrImageRecord) record = qr_catalog_find_image (catalog, name, &error);
        g_assert_nonnull (record);
        qr_scene_generate (3, i, FALSE, &scene);
        caption = qr_scene_caption (&scene, 3, 0);
        g_assert_cmpint (qr_catalog_add_caption (catalog, record->id, caption, "test", &error), >, 0);
      }
  }
  window = qr_window_new (NULL, NULL);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (qr_window_open_collection (window, tmp, &error));
  test_ui_spin_until (test_ui_window_idle, window, 30);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.caption-model", NULL));
  dialog = find_caption_window ();
  g_assert_nonnull (dialog);
  g_assert_true (g_str_has_prefix (qr_caption_model_window_get_summary (dialog), "No caption model yet"));
  g_assert_cmpuint (qr_caption_model_window_get_n_epochs (dialog), ==, 0);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.train-caption-model", "(ib)", 3, FALSE));
  g_assert_true (qr_window_is_busy (window));
  test_ui_spin_until (test_ui_window_idle, window, 180);
  g_test_message ("%s", qr_caption_model_window_get_summary (dialog));
  g_assert_true (g_str_has_prefix (qr_caption_model_window_get_summary (dialog), "In use: trained 3 epochs"));
  g_assert_cmpuint (qr_caption_model_window_get_n_epochs (dialog), ==, 3);
  {
    g_autoptr (QrCatalog) catalog = qr_catalog_open (tmp, NULL, &error);
    g_autoptr (QrScorer) scorer = qr_scorer_new (catalog, "dmsm", &error);
    g_assert_no_error (error);
    g_assert_nonnull (scorer);
  }

  /* Start over with many epochs; stop once the first is saved: the old model stays in use, the
   * new run waits to be resumed */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.train-caption-model", "(ib)", 400, TRUE));
  test_ui_spin_until (caption_epoch_saved, dialog, 120);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.cancel-job", NULL));
  test_ui_spin_until (test_ui_window_idle, window, 60);
  g_test_message ("%s", qr_caption_model_window_get_summary (dialog));
  g_assert_true (g_str_has_prefix (qr_caption_model_window_get_summary (dialog), "In use: trained 3 epochs"));
  g_assert_nonnull (strstr (qr_caption_model_window_get_summary (dialog), "Unfinished training run: epoch "));
  g_assert_null (strstr (qr_caption_model_window_get_summary (dialog), "epoch 400 of 400"));

  gtk_window_destroy (GTK_WINDOW (window));
  g_assert_null (find_caption_window ());
  test_remove_tree (tmp);
}

static QrImportDialog *
find_import_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();   /* GTK's own */
  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr (GObject) w = g_list_model_get_item (toplevels, i);
      if (QR_IS_IMPORT_DIALOG (w))
        return QR_IMPORT_DIALOG (w);
    }
  return NULL;
}

static gboolean
import_idle (gpointer dialog)
{
  return !qr_import_dialog_is_busy (dialog);
}

/* Import Labels (Ctrl+Shift+I) through the window's action: a bad file shows its line in the
 * dialog and stores nothing; a good one says what it imported and the gallery follows. */
static void
test_import_dialog (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  g_autofree char *bad = g_build_filename (tmp, "bad.csv", NULL);
  g_autofree char *good = g_build_filename (tmp, "good.csv", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (QrImage) pixels = test_gradient_image (64, 48, 1);
  QrWindow *window;
  QrImportDialog *dialog;

  if (!test_ui_have_display ())
    {
      g_test_skip ("no display");
      return;
    }
  {
    g_autofree char *path = g_build_filename (tmp, "a.jpg", NULL);
    test_write_jpeg (path, pixels, 1);
  }
  g_assert_true (g_file_set_contents (bad, "a.jpg,1,2,30,40,dog\na.jpg,5,5,20,20,cat\na.jpg,1,2,x,40,dog\n", -1, NULL));
  g_assert_true (g_file_set_contents (good, "a.jpg,1,2,30,40,dog\na.jpg,5,5,20,20,cat\n", -1, NULL));
  window = qr_window_new (NULL, NULL);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (qr_window_open_collection (window, tmp, &error));
  test_ui_spin_until (test_ui_window_idle, window, 30);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.import", NULL));
  dialog = find_import_dialog ();
  g_assert_nonnull (dialog);
  g_assert_cmpstr (qr_import_dialog_get_message (dialog), ==, "");
  /* nothing chosen: it says what is missing */
  qr_import_dialog_start (dialog);
  g_assert_cmpstr (qr_import_dialog_get_message (dialog), ==, "Choose the dataset's file first");
  /* the bad file: its line, in the dialog; nothing stored */
  qr_import_dialog_set_dataset (dialog, "csv", bad);
  qr_import_dialog_start (dialog);
  g_assert_true (qr_import_dialog_is_busy (dialog));
  test_ui_spin_until (import_idle, dialog, 30);
  g_assert_nonnull (strstr (qr_import_dialog_get_message (dialog), "bad.csv:3:"));
  g_assert_nonnull (strstr (qr_import_dialog_get_message (dialog), "'x', is not a number"));
  {
    g_autoptr (QrImageItem) item = g_list_model_get_item (qr_window_get_images (window), 0);
    g_assert_cmpint (qr_image_item_get_n_labels (item), ==, 0);
  }
  /* the good one: what was imported, and the gallery's badge follows */
  qr_import_dialog_set_dataset (dialog, "csv", good);
  qr_import_dialog_start (dialog);
  test_ui_spin_until (import_idle, dialog, 30);
  g_assert_cmpstr (qr_import_dialog_get_message (dialog), ==, "Imported 2 labels on 1 images (2 classes named)");
  {
    g_autoptr (QrImageItem) item = g_list_model_get_item (qr_window_get_images (window), 0);
    g_assert_cmpint (qr_image_item_get_n_labels (item), ==, 2);
  }
  /* again: already imported, nothing added; Replace imports it in place of the first */
  qr_import_dialog_start (dialog);
  test_ui_spin_until (import_idle, dialog, 30);
  g_assert_true (g_str_has_prefix (qr_import_dialog_get_message (dialog), "Already imported on "));
  qr_import_dialog_set_mode (dialog, "replace");
  qr_import_dialog_start (dialog);
  test_ui_spin_until (import_idle, dialog, 30);
  g_assert_cmpstr (qr_import_dialog_get_message (dialog), ==,
                   "Imported 2 labels on 1 images (2 classes named), in place of 2 labels of the earlier import");
  {
    g_autoptr (QrImageItem) item = g_list_model_get_item (qr_window_get_images (window), 0);
    g_assert_cmpint (qr_image_item_get_n_labels (item), ==, 2);
  }
  gtk_window_destroy (GTK_WINDOW (dialog));
  gtk_window_destroy (GTK_WINDOW (window));
  test_remove_tree (tmp);
}

/* The job bar's words: counts, rate and time left. */
static void
test_job_bar_text (void)
{
  g_autofree char *start = qr_job_bar_format_progress (0, 18000, "images", 0);
  g_autofree char *running = qr_job_bar_format_progress (312, 18000, "images", 42);
  g_autofree char *slow = qr_job_bar_format_progress (3, 20, "epochs", 0.26);
  g_autofree char *hours = qr_job_bar_format_eta (4 * 3600);

  g_assert_cmpstr (start, ==, "0 / 18000 images");   /* the C locale has no digit grouping */
  g_assert_cmpstr (running, ==, "312 / 18000 images · 42 img/s · 7 min left");
  g_assert_cmpstr (slow, ==, "3 / 20 epochs · 0.3 epochs/s · 65 s left");
  g_assert_cmpstr (hours, ==, "4.0 h left");
}

/* Whether a window binds Escape to window.close (its own or its class's shortcuts). */
static gboolean
closes_on_escape (GtkWidget *window)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (window);
  gboolean found = FALSE;

  for (guint c = 0; c < g_list_model_get_n_items (controllers) && !found; c++)
    {
      g_autoptr (GObject) controller = g_list_model_get_item (controllers, c);
      if (!GTK_IS_SHORTCUT_CONTROLLER (controller))
        continue;
      for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (controller)) && !found; i++)
        {
          g_autoptr (GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller), i);
          GtkShortcutTrigger *trigger = gtk_shortcut_get_trigger (shortcut);
          GtkShortcutAction *action = gtk_shortcut_get_action (shortcut);
          found = GTK_IS_KEYVAL_TRIGGER (trigger)
                  && gtk_keyval_trigger_get_keyval (GTK_KEYVAL_TRIGGER (trigger)) == GDK_KEY_Escape
                  && GTK_IS_NAMED_ACTION (action)
                  && g_str_equal (gtk_named_action_get_action_name (GTK_NAMED_ACTION (action)), "window.close");
        }
    }
  return found;
}

/* Escape closes every dialog and secondary window. */
static void
test_escape_closes_windows (void)
{
  g_autofree char *tmp = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (QrCatalog) catalog = NULL;
  GtkWidget *windows[3];

  if (!test_ui_have_display ())
    {
      g_test_skip ("no display");
      return;
    }
  tmp = test_make_tmpdir ();
  catalog = qr_catalog_open (tmp, NULL, &error);
  g_assert_no_error (error);
  windows[0] = GTK_WIDGET (qr_eval_window_new (NULL, catalog, TRUE));
  windows[1] = GTK_WIDGET (qr_export_dialog_new (NULL, tmp, qr_catalog_get_db_path (catalog)));
  windows[2] = GTK_WIDGET (qr_caption_model_window_new (NULL, catalog));
  for (int i = 0; i < 3; i++)
    {
      g_assert_true (closes_on_escape (windows[i]));
      gtk_window_destroy (GTK_WINDOW (windows[i]));
    }
  for (int i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_clear_object (&catalog);
  test_remove_tree (tmp);
}

/* The Shortcuts window names a key for every entry: an application accelerator (the window's
 * table) or an explicit accelerator; and every action in the table has an entry. */
static void
test_shortcuts_complete (void)
{
  g_autoptr (GtkBuilder) builder = NULL;
  g_autoptr (GSList) objects = NULL;
  g_autoptr (GHashTable) listed = g_hash_table_new (g_str_hash, g_str_equal);
  guint without = 0, shortcuts = 0;

  if (!test_ui_have_display ())
    {
      g_test_skip ("no display");
      return;
    }
  builder = gtk_builder_new_from_resource ("/io/github/quorum/Quorum/gtk/help-overlay.ui");
  objects = gtk_builder_get_objects (builder);
  for (GSList *l = objects; l != NULL; l = l->next)
    {
      g_autofree char *accelerator = NULL, *action = NULL;
      gboolean known = FALSE;
      if (!GTK_IS_SHORTCUTS_SHORTCUT (l->data))
        continue;
      shortcuts++;
      g_object_get (l->data, "accelerator", &accelerator, "action-name", &action, NULL);
      if (action != NULL)
        {
          g_hash_table_add (listed, (gpointer) g_intern_string (action));
          known = g_str_equal (action, "app.quit") || g_str_equal (action, "win.show-help-overlay");
          for (const QrWindowAccel *a = qr_window_get_accels (); !known && a->action != NULL; a++)
            known = g_str_equal (a->action, action);
        }
      if (!known && (accelerator == NULL || accelerator[0] == '\0'))
        {
          g_test_message ("no key for \"%s\"", action ? action : "?");
          without++;
        }
    }
  g_assert_cmpuint (shortcuts, >, 30);
  g_assert_cmpuint (without, ==, 0);
  for (const QrWindowAccel *a = qr_window_get_accels (); a->action != NULL; a++)
    if (!g_hash_table_contains (listed, g_intern_string (a->action)))
      g_error ("%s has keys but no entry in the Shortcuts window", a->action);
  {
    /* the window destroys cleanly with it open */
    GtkWidget *window = GTK_WIDGET (gtk_builder_get_object (builder, "help_overlay"));
    gtk_window_present (GTK_WINDOW (window));
    for (int i = 0; i < 10; i++)
      g_main_context_iteration (NULL, FALSE);
    gtk_window_destroy (GTK_WINDOW (window));
  }
}

int
main (int argc, char **argv)
{
  test_ui_init (&argc, &argv);
  g_test_add_func ("/ui/image-list/lazy-items-and-thumbnails", test_image_list);
  g_test_add_func ("/ui/window/open-index-reindex", test_window);
  g_test_add_func ("/ui/export-dialog/exports", test_export_dialog);
  g_test_add_func ("/ui/window/detect-action-stores-a-run", test_window_detect);
  g_test_add_func ("/ui/preferences/model-and-threshold-drive-detect", test_preferences);
  g_test_add_func ("/ui/window/long-detect-cancels-and-resumes", test_cancel_detect);
  g_test_add_func ("/ui/window/detect-over-a-selection", test_detect_selection);
  g_test_add_func ("/ui/caption-model/train-stop-resume", test_caption_model_window);
  g_test_add_func ("/ui/shortcuts/every-entry-has-a-key", test_shortcuts_complete);
  g_test_add_func ("/ui/shortcuts/escape-closes-windows", test_escape_closes_windows);
  g_test_add_func ("/ui/job-bar/progress-words", test_job_bar_text);
  g_test_add_func ("/ui/import-dialog/bad-line-then-good", test_import_dialog);
  return test_ui_run ();
}
