/* test-viewer.c: the viewer, driven as a user drives it: the canvas drawing, zooming and
 * filtering boxes; editing (accept, reject, relabel, nudge, delete, draw, move, resize, undo);
 * and the review queue in the window (the sidebar's queue, the class filter, the inspector's
 * items, Y, the heatmap, evaluation, undo). Needs a display; skipped without one. */
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
#include "qr-viewer-page.h"
#include "qr-overlay-style.h"
#include "qr-scorer.h"
#include "quorum-config.h"
#include "test-util.h"
#include "test-ui-util.h"

#include <string.h>
#include <math.h>
#include <sched.h>
#include <unistd.h>
#include <sys/mount.h>
#include <glib/gstdio.h>

static void
test_canvas (void)
{
  GtkWidget *window, *canvas;
  g_autoptr (GBytes) pixels = NULL;
  g_autoptr (GdkTexture) texture = NULL;
  GPtrArray *overlays = g_ptr_array_new_with_free_func ((GDestroyNotify) qr_overlay_box_free);
  const char *sources[] = { "label", "centernet", "nanodet" };
  float scores[] = { 1.0f, 0.8f, 0.1f };

  if (!test_ui_have_display ())
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
  {
    /* a cat beside the dog */
    QrOverlayBox *b = g_new0 (QrOverlayBox, 1);
    b->class_name = g_strdup ("cat");
    b->source = g_strdup ("label");
    b->score = 1;
    b->is_label = TRUE;
    b->box = (QrBox) { 45, 10, 60, 30 };
    g_ptr_array_add (overlays, b);
  }
  window = gtk_window_new ();
  canvas = qr_canvas_new ();
  gtk_window_set_child (GTK_WINDOW (window), canvas);
  gtk_window_set_default_size (GTK_WINDOW (window), 320, 240);
  gtk_window_present (GTK_WINDOW (window));
  qr_canvas_set_image (QR_CANVAS (canvas), texture, 640, 480);
  qr_canvas_set_overlays (QR_CANVAS (canvas), overlays);
  /* the labels and the confident detection; the 0.1 one is under the 0.3 threshold */
  g_assert_cmpuint (qr_canvas_get_n_visible_boxes (QR_CANVAS (canvas)), ==, 3);
  qr_canvas_set_score_threshold (QR_CANVAS (canvas), 0.05);
  g_assert_cmpuint (qr_canvas_get_n_visible_boxes (QR_CANVAS (canvas)), ==, 4);
  {
    /* neighbouring classes: two colours */
    GdkRGBA dog, cat;
    g_assert_true (qr_canvas_class_colour (QR_CANVAS (canvas), "dog", &dog));
    g_assert_true (qr_canvas_class_colour (QR_CANVAS (canvas), "cat", &cat));
    g_assert_false (gdk_rgba_equal (&dog, &cat));
    g_assert_false (qr_canvas_class_colour (QR_CANVAS (canvas), "zebra", &cat));
  }
  for (int i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_true (gtk_widget_activate_action (canvas, "canvas.zoom-in", NULL));
  g_assert_cmpfloat (qr_canvas_get_zoom (QR_CANVAS (canvas)), >, 1.0);
  g_assert_true (gtk_widget_activate_action (canvas, "canvas.zoom-fit", NULL));
  g_assert_cmpfloat (qr_canvas_get_zoom (QR_CANVAS (canvas)), ==, 1.0);
  gtk_window_destroy (GTK_WINDOW (window));
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

  if (!test_ui_have_display ())
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
    {
      /* the picker keeps its size (and so its place) while the list filters under the typing:
         its list's height is fixed */
      GtkWidget *scroller = gtk_widget_get_next_sibling (entry);
      g_assert_true (GTK_IS_SCROLLED_WINDOW (scroller));
      g_assert_cmpint (gtk_scrolled_window_get_min_content_height (GTK_SCROLLED_WINDOW (scroller)), ==,
                       gtk_scrolled_window_get_max_content_height (GTK_SCROLLED_WINDOW (scroller)));
      g_assert_cmpint (gtk_scrolled_window_get_min_content_height (GTK_SCROLLED_WINDOW (scroller)), >, 0);
    }
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
    /* the picker's popups and popdowns reach the display (a grab left pending would keep the
       keyboard from later windows) */
    for (int i = 0; i < 30; i++)
      g_main_context_iteration (NULL, FALSE);
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

  if (!test_ui_have_display ())
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
  test_ui_spin_until (test_ui_window_idle, window, 30);
  /* the Review Queue row of the sidebar (the first: every kind) */
  sidebar = test_ui_find_named (GTK_WIDGET (window), "sidebar");
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
    GtkWidget *dropdown = test_ui_find_named (GTK_WIDGET (window), "review-class");
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
  inspector = test_ui_find_named (GTK_WIDGET (window), "inspector");
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

static gboolean
list_is_searching (gpointer data)
{
  return qr_image_list_is_searching (QR_IMAGE_LIST (data));
}

typedef struct
{
  GtkWidget  *widget;
  const char *text;
} LabelWait;

static gboolean
label_contains (gpointer data)
{
  LabelWait *w = data;
  return strstr (gtk_label_get_text (GTK_LABEL (w->widget)), w->text) != NULL;
}

static gboolean
heatmap_titled (gpointer data)
{
  g_autofree char *title = NULL;
  g_object_get (data, "heatmap-class", &title, NULL);
  return g_strcmp0 (title, "“two puppies”") == 0;
}

typedef struct
{
  gpointer    viewer;
  const char *title;
} HeatWait;

static gboolean
heatmap_titled_as (gpointer data)
{
  HeatWait *w = data;
  g_autofree char *title = NULL;
  g_object_get (w->viewer, "heatmap-class", &title, NULL);
  return g_strcmp0 (title, w->title) == 0;
}

static gboolean
suggest_ready (gpointer window)
{
  GtkWidget *button = test_ui_find_named (GTK_WIDGET (window), "caption-suggest");
  return button != NULL && gtk_widget_get_sensitive (button);
}

/* Ctrl+F, words typed and Enter: the dog photo first with its score on the badge; unknown words
 * said beside the entry; T in the viewer shows where the words are; a caption typed in the
 * inspector and undone; a caption item decided with Y (the best suggestion replaces it) and undone. */
static void
test_search (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  g_autoptr (GError) error = NULL;
  QrWindow *window;
  GtkWidget *entry, *status, *viewer;
  GListModel *images;

  if (!test_ui_have_display ())
    {
      g_test_skip ("no display");
      return;
    }
  {
    const char *names[] = { "a-cat.jpg", "b-dogs.jpg" };
    g_autoptr (QrCatalog) catalog = NULL;
    g_autoptr (GPtrArray) records = NULL;
    gint64 dog, cat, a, b, run_a, run_b;
    for (int i = 0; i < 2; i++)
      {
        g_autoptr (QrImage) pixels = test_gradient_image (640, 480, 3 + i);
        g_autofree char *path = g_build_filename (tmp, names[i], NULL);
        test_write_jpeg (path, pixels, 1);
      }
    catalog = qr_catalog_open (tmp, NULL, &error);
    g_assert_true (qr_index_collection (catalog, NULL, NULL, NULL, NULL, NULL, &error));
    records = qr_catalog_list_images (catalog, -1, &error);
    dog = qr_catalog_ensure_class (catalog, "dog", &error);
    cat = qr_catalog_ensure_class (catalog, "cat", &error);
    a = qr_catalog_add_model (catalog, "peer-a", "tfjs", NULL, &error);
    b = qr_catalog_add_model (catalog, "peer-b", "tfjs", NULL, &error);
    run_a = qr_catalog_start_run (catalog, a, "{}", &error);
    run_b = qr_catalog_start_run (catalog, b, "{}", &error);
    for (guint i = 0; i < records->len; i++)
      {
        QrImageRecord *r = records->pdata[i];
        gboolean dogs = g_str_equal (r->path, "b-dogs.jpg");
        QrBox left = { 20, 100, 300, 400 }, right = { 340, 100, 620, 400 };
        qr_catalog_add_detection (catalog, run_a, r->id, dogs ? dog : cat, 0.9, &left, &error);
        qr_catalog_add_detection (catalog, run_b, r->id, dogs ? dog : cat, 0.8, &left, &error);
        if (dogs)
          {
            qr_catalog_add_detection (catalog, run_a, r->id, dog, 0.7, &right, &error);
            qr_catalog_add_detection (catalog, run_b, r->id, dog, 0.75, &right, &error);
          }
      }
    g_assert_no_error (error);
  }
  window = qr_window_new (NULL, NULL);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (qr_window_open_collection (window, tmp, &error));
  test_ui_spin_until (test_ui_window_idle, window, 30);
  images = qr_window_get_images (window);
  {
    g_autoptr (QrImageItem) first = g_list_model_get_item (images, 0);
    g_assert_cmpstr (qr_image_item_get_path (first), ==, "a-cat.jpg");   /* by name before the search */
  }

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.search", NULL));
  entry = test_ui_find_named (GTK_WIDGET (window), "gallery-search");
  g_assert_nonnull (entry);
  g_assert_true (gtk_search_bar_get_search_mode (GTK_SEARCH_BAR (test_ui_find_type (GTK_WIDGET (window), GTK_TYPE_SEARCH_BAR))));
  gtk_editable_set_text (GTK_EDITABLE (entry), "two puppies and a tuba");
  g_signal_emit_by_name (entry, "activate");
  test_ui_spin_until (list_is_searching, images, 30);
  g_assert_cmpuint (g_list_model_get_n_items (images), ==, 2);
  {
    g_autoptr (QrImageItem) first = g_list_model_get_item (images, 0);
    g_autoptr (QrImageItem) second = g_list_model_get_item (images, 1);
    g_assert_cmpstr (qr_image_item_get_path (first), ==, "b-dogs.jpg");
    g_assert_cmpfloat (qr_image_item_get_search_score (first), >, 0.5);
    g_assert_cmpfloat (qr_image_item_get_search_score (second), <, qr_image_item_get_search_score (first));
  }
  status = gtk_widget_get_next_sibling (gtk_widget_get_next_sibling (entry));
  g_assert_true (GTK_IS_LABEL (status));
  {
    LabelWait w = { status, "Unknown words: tuba" };
    test_ui_spin_until (label_contains, &w, 10);
    g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (status)), "2 images ranked"));
  }

  /* words that name nothing: said, and the ranking stays */
  gtk_editable_set_text (GTK_EDITABLE (entry), "a dinosaur");
  g_signal_emit_by_name (entry, "activate");
  {
    LabelWait w = { status, "unknown words: dinosaur" };
    test_ui_spin_until (label_contains, &w, 10);
  }
  gtk_editable_set_text (GTK_EDITABLE (entry), "two puppies");
  g_signal_emit_by_name (entry, "activate");
  {
    LabelWait w = { status, "2 images ranked" };
    test_ui_spin_until (label_contains, &w, 10);
  }

  /* the same bar filters by file name and by class, within the view */
  {
    GtkWidget *bar = test_ui_find_type (GTK_WIDGET (window), GTK_TYPE_SEARCH_BAR);
    GtkWidget *dropdown = test_ui_find_type (bar, GTK_TYPE_DROP_DOWN);
    guint n_scorers = g_strv_length ((char **) qr_scorer_list_names ());
    g_assert_nonnull (dropdown);
    gtk_drop_down_set_selected (GTK_DROP_DOWN (dropdown), n_scorers);   /* File Name */
    gtk_editable_set_text (GTK_EDITABLE (entry), "CAT");
    g_signal_emit_by_name (entry, "activate");
    g_assert_cmpuint (g_list_model_get_n_items (images), ==, 1);
    {
      g_autoptr (QrImageItem) only = g_list_model_get_item (images, 0);
      g_assert_cmpstr (qr_image_item_get_path (only), ==, "a-cat.jpg");
      g_assert_true (isnan (qr_image_item_get_search_score (only)));   /* a filter: no score on the badge */
    }
    g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (status)), "1 images named"));
    gtk_drop_down_set_selected (GTK_DROP_DOWN (dropdown), n_scorers + 1);   /* Class */
    gtk_editable_set_text (GTK_EDITABLE (entry), "unicorn");
    g_signal_emit_by_name (entry, "activate");
    g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (status)), "No class named “unicorn”"));
    gtk_editable_set_text (GTK_EDITABLE (entry), "Dog");
    g_signal_emit_by_name (entry, "activate");
    g_assert_cmpuint (g_list_model_get_n_items (images), >=, 1);
    g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (status)), "with a Dog label or box"));
    /* back to the words */
    gtk_drop_down_set_selected (GTK_DROP_DOWN (dropdown), 0);
    gtk_editable_set_text (GTK_EDITABLE (entry), "two puppies");
    g_signal_emit_by_name (entry, "activate");
    {
      LabelWait w = { status, "2 images ranked" };
      test_ui_spin_until (label_contains, &w, 10);
    }
  }

  /* T in the viewer: the words' classes as a heatmap, titled with the words */
  g_signal_emit_by_name (qr_window_get_grid_view (window), "activate", 0);
  for (int i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  viewer = test_ui_find_type (GTK_WIDGET (window), QR_TYPE_VIEWER_PAGE);
  g_assert_nonnull (viewer);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.phrase-heatmap", NULL));
  g_assert_true (qr_viewer_page_get_heatmap_on (QR_VIEWER_PAGE (viewer)));
  test_ui_spin_until (heatmap_titled, viewer, 60);
  g_assert_true (heatmap_titled (viewer));
  /* T again: off */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.phrase-heatmap", NULL));
  g_assert_false (qr_viewer_page_get_heatmap_on (QR_VIEWER_PAGE (viewer)));

  /* a caption typed in the inspector, then undone */
  {
    GtkWidget *add = test_ui_find_named (GTK_WIDGET (window), "caption-add");
    g_autoptr (QrCatalog) catalog = qr_catalog_open (tmp, NULL, &error);
    g_autoptr (QrImageRecord) dogs = qr_catalog_find_image (catalog, "b-dogs.jpg", &error);
    g_assert_nonnull (add);
    gtk_editable_set_text (GTK_EDITABLE (add), "Two dogs side by side");
    g_signal_emit_by_name (add, "apply");
    for (int i = 0; i < 20; i++)
      g_main_context_iteration (NULL, FALSE);
    {
      g_autoptr (GPtrArray) captions = qr_catalog_list_caption_records (catalog, dogs->id, &error);
      g_assert_cmpuint (captions->len, ==, 1);
      g_assert_cmpstr (((QrCaptionRecord *) captions->pdata[0])->text, ==, "Two dogs side by side");
      g_assert_cmpstr (((QrCaptionRecord *) captions->pdata[0])->source, ==, "typed");
    }
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.undo", NULL));
    {
      g_autoptr (GPtrArray) captions = qr_catalog_list_caption_records (catalog, dogs->id, &error);
      g_assert_cmpuint (captions->len, ==, 0);
    }

    /* a wrong caption becomes a review item; Y replaces it with the best suggestion; Ctrl+Z */
    g_assert_cmpint (qr_catalog_add_caption (catalog, dogs->id, "A cat on a sofa", "imported", &error), >, 0);
    g_assert_cmpint (qr_review_update (catalog, NULL, &error), >=, 1);
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-gallery", NULL));
    g_signal_emit_by_name (qr_window_get_grid_view (window), "activate", 0);
    test_ui_spin_until (suggest_ready, window, 30);
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "review.accept", NULL));
    {
      g_autoptr (GPtrArray) captions = qr_catalog_list_caption_records (catalog, dogs->id, &error);
      g_autoptr (GPtrArray) open = qr_catalog_list_open_mistakes (catalog, dogs->id, &error);
      const char *text = ((QrCaptionRecord *) captions->pdata[0])->text;
      g_assert_cmpuint (captions->len, ==, 1);
      g_assert_nonnull (strstr (text, "Two dogs"));
      for (guint i = 0; i < open->len; i++)
        g_assert_cmpstr (((QrMistakeRecord *) open->pdata[i])->kind, !=, "caption");
    }
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.undo", NULL));
    {
      g_autoptr (GPtrArray) captions = qr_catalog_list_caption_records (catalog, dogs->id, &error);
      g_assert_cmpstr (((QrCaptionRecord *) captions->pdata[0])->text, ==, "A cat on a sofa");
    }
  }

  /* closing the search shows the view again */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-gallery", NULL));
  g_signal_emit_by_name (entry, "stop-search");
  g_assert_false (qr_image_list_is_searching (QR_IMAGE_LIST (images)));
  gtk_window_destroy (GTK_WINDOW (window));
  test_remove_tree (tmp);
}

static gint64
selected_label (QrWindow *window)
{
  QrCanvas *canvas = QR_CANVAS (test_ui_find_type (GTK_WIDGET (window), QR_TYPE_CANVAS));
  int i = qr_canvas_get_selected (canvas);
  QrOverlayBox *b = i >= 0 ? qr_canvas_get_overlays (canvas)->pdata[i] : NULL;
  return b != NULL && b->is_label ? b->id : -1;
}

static char *
review_state (const char *dir, gint64 image_id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (QrCatalog) catalog = qr_catalog_open (dir, NULL, &error);
  g_assert_no_error (error);
  return qr_catalog_get_reviewed (catalog, image_id, &error);
}

/* Trust in the review loop, through the window's actions: Y on an image's last item says what it
 * did, marks the image reviewed and opens the next; an edit on one image undone from another
 * opens the first again with the box selected and says so; M and U. */
static void
test_review_trust (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  g_autoptr (GError) error = NULL;
  g_autoptr (QrImage) pixels = test_gradient_image (640, 480, 5);
  QrBox box = { 100, 100, 300, 400 };
  gint64 ids[3], label_a, label_b, label_c;
  QrWindow *window;
  g_autofree char *state = NULL;
  const char *names[] = { "a.jpg", "b.jpg", "c.jpg" };

  if (!test_ui_have_display ())
    {
      g_test_skip ("no display");
      return;
    }
  for (int i = 0; i < 3; i++)
    {
      g_autofree char *path = g_build_filename (tmp, names[i], NULL);
      test_write_jpeg (path, pixels, 1);
    }
  {
    /* a: labelled cat where two peers see a dog (one wrong-class item); b and c: a dog each */
    g_autoptr (QrCatalog) catalog = qr_catalog_open (tmp, NULL, &error);
    g_autoptr (GPtrArray) images = NULL;
    gint64 dog, cat, pa, pb, run_a, run_b;
    g_assert_true (qr_index_collection (catalog, NULL, NULL, NULL, NULL, NULL, &error));
    images = qr_catalog_list_images (catalog, -1, &error);
    for (int i = 0; i < 3; i++)
      ids[i] = ((QrImageRecord *) images->pdata[i])->id;
    dog = qr_catalog_ensure_class (catalog, "dog", &error);
    cat = qr_catalog_ensure_class (catalog, "cat", &error);
    label_a = qr_catalog_add_label (catalog, ids[0], cat, &box, QR_LABEL_SOURCE_IMPORTED, NULL, &error);
    label_b = qr_catalog_add_label (catalog, ids[1], dog, &box, QR_LABEL_SOURCE_IMPORTED, NULL, &error);
    label_c = qr_catalog_add_label (catalog, ids[2], dog, &box, QR_LABEL_SOURCE_IMPORTED, NULL, &error);
    pa = qr_catalog_add_model (catalog, "peer-a", "tfjs", NULL, &error);
    pb = qr_catalog_add_model (catalog, "peer-b", "tfjs", NULL, &error);
    run_a = qr_catalog_start_run (catalog, pa, "{}", &error);
    run_b = qr_catalog_start_run (catalog, pb, "{}", &error);
    for (int i = 0; i < 3; i++)
      {
        qr_catalog_add_detection (catalog, run_a, ids[i], dog, 0.9, &box, &error);
        qr_catalog_add_detection (catalog, run_b, ids[i], dog, 0.85, &box, &error);
      }
    g_assert_cmpint (qr_review_update (catalog, NULL, &error), ==, 1);
    g_assert_no_error (error);
  }

  window = qr_window_new (NULL, NULL);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (qr_window_open_collection (window, tmp, &error));
  test_ui_spin_until (test_ui_window_idle, window, 30);
  g_assert_cmpint (qr_window_get_viewer_image (window), ==, -1);

  /* Y on a's only item: the label becomes a dog, the toast says so, a is reviewed, b opens */
  g_signal_emit_by_name (qr_window_get_grid_view (window), "activate", 0);
  for (int i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpint (qr_window_get_viewer_image (window), ==, ids[0]);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "review.accept", NULL));
  g_assert_cmpstr (qr_window_get_last_toast (window), ==, "Made the cat label a dog · image reviewed");
  state = review_state (tmp, ids[0]);
  g_assert_cmpstr (state, ==, "reviewed");
  g_clear_pointer (&state, g_free);
  g_assert_cmpint (qr_window_get_viewer_image (window), ==, ids[1]);
  {
    g_autoptr (QrImageItem) item = g_list_model_get_item (qr_window_get_images (window), 0);
    g_assert_true (qr_image_item_get_reviewed (item));
  }

  /* on b: delete its label (select it, Delete), then go to c */
  {
    QrCanvas *canvas = QR_CANVAS (test_ui_find_type (GTK_WIDGET (window), QR_TYPE_CANVAS));
    g_assert_true (qr_canvas_select_label (canvas, label_b));
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (canvas), "canvas.delete", NULL));
  }
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.next-image", NULL));
  g_assert_cmpint (qr_window_get_viewer_image (window), ==, ids[2]);

  /* Ctrl+Z on c: b opens again, its label is back and selected, and the toast says where */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.undo", NULL));
  g_assert_cmpint (qr_window_get_viewer_image (window), ==, ids[1]);
  g_assert_cmpint (selected_label (window), ==, label_b);
  g_assert_cmpstr (qr_window_get_last_toast (window), ==, "Undone on b.jpg: restored the deleted dog box");
  /* again: a's decision and review mark are taken back; a opens with its label selected */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.undo", NULL));
  g_assert_cmpint (qr_window_get_viewer_image (window), ==, ids[0]);
  g_assert_cmpint (selected_label (window), ==, label_a);
  g_assert_nonnull (strstr (qr_window_get_last_toast (window), "Undone on a.jpg: marked the image unreviewed, took back"));
  state = review_state (tmp, ids[0]);
  g_assert_cmpstr (state, ==, "unreviewed");
  g_clear_pointer (&state, g_free);

  /* M marks the image on screen, again unmarks; U skips the reviewed images */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.mark-reviewed", NULL));
  g_assert_cmpstr (qr_window_get_last_toast (window), ==, "Marked reviewed");
  state = review_state (tmp, ids[0]);
  g_assert_cmpstr (state, ==, "reviewed");
  g_clear_pointer (&state, g_free);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.next-image", NULL));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.mark-reviewed", NULL));   /* b */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.previous-image", NULL));  /* a */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.next-unreviewed", NULL));
  g_assert_cmpint (qr_window_get_viewer_image (window), ==, ids[2]);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.mark-reviewed", NULL));   /* c */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.next-unreviewed", NULL));
  g_assert_cmpstr (qr_window_get_last_toast (window), ==, "Every image here is reviewed");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.undo", NULL));            /* c again */
  state = review_state (tmp, ids[2]);
  g_assert_cmpstr (state, ==, "unreviewed");
  (void) label_c;

  gtk_window_destroy (GTK_WINDOW (window));
  test_remove_tree (tmp);
}

/* Readable overlays, as plain functions: 20 colours before any repeats, all far apart; each class
 * of an image its own colour; the tag text the one with more contrast; tags that neither overlap
 * nor leave the canvas, and give way (elided) when there is no room. */
static void
test_overlay_style (void)
{
  const char *names[25];
  g_autofree guint *colours = NULL;
  GdkRGBA yellow, navy, c;
  QrTagRect boxes[40], tags[40];
  double widths[40];
  gboolean shown[40];
  guint n_shown = 0;

  for (int i = 0; i < 24; i++)
    names[i] = g_intern_string (g_strdup_printf ("class%02d", i));
  names[24] = NULL;
  colours = qr_palette_assign (names);
  /* the first 20 classes (by name) get 20 different colours, and those colours differ visibly */
  for (int i = 0; i < 20; i++)
    for (int j = 0; j < i; j++)
      {
        GdkRGBA a, b;
        double d;
        g_assert_cmpuint (colours[i], !=, colours[j]);
        qr_palette_colour (colours[i], &a);
        qr_palette_colour (colours[j], &b);
        d = fabs (a.red - b.red) + fabs (a.green - b.green) + fabs (a.blue - b.blue);
        g_assert_cmpfloat (d, >, 0.12);
      }
  /* two classes together: the two farthest-apart colours, whatever their names */
  {
    const char *two[] = { "horse", "cow", NULL };
    g_autofree guint *pair = qr_palette_assign (two);
    g_assert_cmpuint (pair[0], !=, pair[1]);
  }
  /* text: dark on Kelly's yellow, white on his olive green */
  gdk_rgba_parse (&yellow, "#f3c300");
  gdk_rgba_parse (&navy, "#2b3d26");
  g_assert_true (qr_overlay_text_dark (&yellow));
  g_assert_false (qr_overlay_text_dark (&navy));
  qr_palette_colour (0, &c);
  g_assert_true (gdk_rgba_equal (&c, &yellow));

  /* 40 boxes stacked on one spot of a 400 × 300 canvas, one at its top edge, one past its right */
  for (int i = 0; i < 40; i++)
    {
      boxes[i] = (QrTagRect) { 100 + i % 3, 5 + i % 2, 80, 60 };
      widths[i] = 90;
    }
  boxes[1] = (QrTagRect) { 0, 0, 50, 50 };
  boxes[2] = (QrTagRect) { 380, 100, 50, 50 };
  {
    QrTagRect legend = { 0, 250, 120, 50 };
    qr_overlay_place_tags (boxes, widths, 18, 40, 400, 300, &legend, tags, shown);
    for (int i = 0; i < 40; i++)
      {
        if (!shown[i])
          continue;
        n_shown++;
        g_assert_cmpfloat (tags[i].x, >=, 0);
        g_assert_cmpfloat (tags[i].y, >=, 0);
        g_assert_cmpfloat (tags[i].x + tags[i].width, <=, 400);
        g_assert_cmpfloat (tags[i].y + tags[i].height, <=, 300);
        g_assert_false (tags[i].x < legend.x + legend.width && legend.x < tags[i].x + tags[i].width
                        && tags[i].y < legend.y + legend.height && legend.y < tags[i].y + tags[i].height);
        for (int j = 0; j < i; j++)
          if (shown[j])
            g_assert_false (tags[i].x < tags[j].x + tags[j].width && tags[j].x < tags[i].x + tags[i].width
                            && tags[i].y < tags[j].y + tags[j].height && tags[j].y < tags[i].y + tags[i].height);
      }
  }
  g_assert_true (shown[0] && shown[1] && shown[2]);   /* the first ones always find room */
  g_assert_cmpfloat (tags[1].y, ==, 0);               /* at the top edge: inside the box, not above it */
  g_assert_cmpfloat (tags[2].x, ==, 310);             /* past the right edge: pulled back in */
  g_assert_cmpuint (n_shown, <, 40);                  /* the rest give way */
  g_assert_cmpuint (n_shown, >=, 5);
}

/* A narrow window stays narrow when the viewer opens (its parts fold instead of widening it),
 * with no GTK warning on the way (warnings are fatal here: the sidebar folding once made the
 * header change size mid-frame). */
static void
test_narrow_window (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  g_autoptr (GError) error = NULL;
  g_autoptr (QrImage) pixels = test_gradient_image (640, 480, 5);
  g_autofree char *path = g_build_filename (tmp, "a.jpg", NULL);
  QrWindow *window;
  int before, after;

  if (!test_ui_have_display ())
    {
      g_test_skip ("no display");
      return;
    }
  test_write_jpeg (path, pixels, 1);
  window = qr_window_new (NULL, NULL);
  gtk_window_set_default_size (GTK_WINDOW (window), 640, 700);
  gtk_window_present (GTK_WINDOW (window));
  for (int i = 0; i < 30; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_true (qr_window_open_collection (window, tmp, &error));
  test_ui_spin_until (test_ui_window_idle, window, 30);
  for (int i = 0; i < 30; i++)
    g_main_context_iteration (NULL, FALSE);
  before = gtk_widget_get_width (GTK_WIDGET (window));
  g_signal_emit_by_name (qr_window_get_grid_view (window), "activate", 0);
  for (int i = 0; i < 50; i++)
    g_main_context_iteration (NULL, FALSE);
  {
    /* what the window asks for, the least: it fits */
    int min, nat;
    gtk_widget_measure (GTK_WIDGET (window), GTK_ORIENTATION_HORIZONTAL, -1, &min, &nat, NULL, NULL);
    g_test_message ("window min width %d", min);
    g_assert_cmpint (min, <=, 640);
  }
  g_assert_cmpint (qr_window_get_viewer_image (window), >, 0);
  after = gtk_widget_get_width (GTK_WIDGET (window));
  g_test_message ("window width %d before the viewer, %d with it", before, after);
  g_assert_cmpint (before, <=, 640);
  g_assert_cmpint (after, <=, 640);
  gtk_window_destroy (GTK_WINDOW (window));
  test_remove_tree (tmp);
}


/* Compute CLIP Embeddings… with a user's CLIP folder (OpenAI's model.py exported small, seeded;
 * tests/reference/clip-onnx.py): before, the CLIP scorer says how to make the embeddings; the job
 * makes them for every photo and says so; then the search bar's CLIP scorer ranks the gallery by
 * their cosine with the words, best first. */
static void
test_clip_search (void)
{
  const char *photos[] = { "skimage-coffee.png", "darknet-dog.jpg", "skimage-chelsea.png" };
  g_autofree char *tmp = test_make_tmpdir ();
  g_autofree char *model = g_build_filename (tmp, "tiny-clip", NULL);
  g_autofree char *coll = g_build_filename (tmp, "photos", NULL);
  g_autofree char *bpe = g_build_filename (model, "bpe_simple_vocab_16e6.txt.gz", NULL);
  g_autofree char *contents = NULL;
  g_autoptr (GError) error = NULL;
  QrWindow *window;
  GtkWidget *entry, *status, *bar, *dropdown;
  GListModel *images;
  guint clip_at = 0;
  gsize length;
  int exit_status;

  if (!test_ui_have_display ())
    {
      g_test_skip ("no display");
      return;
    }
  {
    const char *argv[] = { "/usr/bin/python3", QUORUM_SOURCE_DIR "/tests/reference/clip-onnx.py",
                           QUORUM_SOURCE_DIR "/../shared/models/clip/reference", "export", model, "17", NULL };
    if (!g_file_get_contents (QUORUM_SOURCE_DIR "/../shared/models/clip/bpe_simple_vocab_16e6.txt.gz", &contents,
                              &length, NULL)
        || !g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                          NULL, NULL, NULL, &exit_status, NULL)
        || !g_spawn_check_wait_status (exit_status, NULL))
      {
        g_test_skip ("OpenAI's CLIP reference (../shared/models/clip) or PyTorch and ONNX for Python are missing");
        return;
      }
    g_assert_true (g_file_set_contents (bpe, contents, (gssize) length, NULL));
  }
  g_assert_cmpint (g_mkdir (coll, 0755), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (photos); i++)
    {
      g_autofree char *src = g_build_filename (QUORUM_DEMO_DIR, photos[i], NULL), *dst = g_build_filename (coll, photos[i], NULL);
      g_autofree char *data = NULL;
      g_assert_true (g_file_get_contents (src, &data, &length, NULL));
      g_assert_true (g_file_set_contents (dst, data, (gssize) length, NULL));
    }
  window = qr_window_new (NULL, NULL);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (qr_window_open_collection (window, coll, &error));
  test_ui_spin_until (test_ui_window_idle, window, 30);
  images = qr_window_get_images (window);

  /* the CLIP scorer before the embeddings: says how to make them */
  for (const char *const *name = qr_scorer_list_names (); *name != NULL && !g_str_equal (*name, "clip"); name++)
    clip_at++;
  g_assert_cmpuint (clip_at, <, g_strv_length ((char **) qr_scorer_list_names ()));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.search", NULL));
  entry = test_ui_find_named (GTK_WIDGET (window), "gallery-search");
  bar = test_ui_find_type (GTK_WIDGET (window), GTK_TYPE_SEARCH_BAR);
  dropdown = test_ui_find_type (bar, GTK_TYPE_DROP_DOWN);
  status = gtk_widget_get_next_sibling (gtk_widget_get_next_sibling (entry));
  gtk_drop_down_set_selected (GTK_DROP_DOWN (dropdown), clip_at);
  gtk_editable_set_text (GTK_EDITABLE (entry), "a cup of coffee");
  g_signal_emit_by_name (entry, "activate");
  {
    LabelWait w = { status, "Compute CLIP Embeddings" };
    test_ui_spin_until (label_contains, &w, 30);
  }

  /* the job */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.clip-embed", "s", model));
  g_assert_true (qr_window_is_busy (window));
  test_ui_spin_until (test_ui_window_idle, window, 120);
  g_test_message ("%s", qr_window_get_last_toast (window));
  g_assert_true (g_str_has_prefix (qr_window_get_last_toast (window), "CLIP embeddings (tiny-clip): 3 images"));

  /* the search again: every photo ranked by its cosine */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.search", NULL);
  gtk_drop_down_set_selected (GTK_DROP_DOWN (dropdown), clip_at);
  gtk_editable_set_text (GTK_EDITABLE (entry), "a cup of coffee");
  g_signal_emit_by_name (entry, "activate");
  {
    LabelWait w = { status, "3 images ranked" };
    test_ui_spin_until (label_contains, &w, 30);
  }
  g_assert_cmpuint (g_list_model_get_n_items (images), ==, 3);
  {
    g_autoptr (QrCatalog) catalog = qr_catalog_open (coll, NULL, &error);
    g_autoptr (QrScorer) scorer = qr_scorer_new (catalog, "clip", &error);
    QrScorerText *text = qr_scorer_prepare (scorer, "a cup of coffee", &error);
    g_autoptr (GArray) hits = qr_search (scorer, text, 0, NULL, &error);
    g_assert_no_error (error);
    for (guint i = 0; i < 3; i++)
      {
        g_autoptr (QrImageItem) item = g_list_model_get_item (images, i);
        g_autoptr (QrImageRecord) want = qr_catalog_get_image (catalog, g_array_index (hits, QrSearchHit, i).image_id, NULL);
        g_assert_cmpstr (qr_image_item_get_path (item), ==, want->path);
        g_assert_cmpfloat_with_epsilon (qr_image_item_get_search_score (item), g_array_index (hits, QrSearchHit, i).score,
                                        1e-6);
      }
    qr_scorer_text_free (scorer, text);
  }

  /* T in the viewer: CLIP's own map of the words (each patch's cosine with them), not the
     detections' classes — the same cells as the scorer's map, the brightest where it is highest */
  {
    g_autoptr (QrImageItem) first = g_list_model_get_item (images, 0);
    g_autoptr (QrCatalog) catalog = qr_catalog_open (coll, NULL, &error);
    g_autoptr (QrScorer) scorer = qr_scorer_new (catalog, "clip", &error);
    g_autofree char *path = g_build_filename (coll, qr_image_item_get_path (first), NULL);
    g_autofree float *map = NULL;
    g_autofree guint8 *pixels = NULL;
    QrScorerText *text = qr_scorer_prepare (scorer, "a cup of coffee", &error);
    GtkWidget *viewer, *canvas;
    GdkTexture *texture;
    int rows, cols, top = 0, brightest = 0;
    double cell, drawn_cell;
    g_assert_no_error (error);
    map = qr_scorer_phrase_map (scorer, text, path, NULL, &rows, &cols, &cell, &error);
    g_assert_no_error (error);
    qr_scorer_text_free (scorer, text);

    g_signal_emit_by_name (qr_window_get_grid_view (window), "activate", 0);
    for (int i = 0; i < 20; i++)
      g_main_context_iteration (NULL, FALSE);
    viewer = test_ui_find_type (GTK_WIDGET (window), QR_TYPE_VIEWER_PAGE);
    g_assert_nonnull (viewer);
    canvas = GTK_WIDGET (qr_viewer_page_get_canvas (QR_VIEWER_PAGE (viewer)));
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.phrase-heatmap", NULL));
    {
      HeatWait w = { viewer, "“a cup of coffee” · CLIP" };
      test_ui_spin_until (heatmap_titled_as, &w, 60);
    }
    test_ui_spin_until ((GSourceFunc) qr_canvas_has_heatmap, canvas, 30);
    texture = qr_canvas_get_heatmap (QR_CANVAS (canvas), &drawn_cell);
    g_assert_nonnull (texture);
    g_assert_cmpint (gdk_texture_get_width (texture), ==, cols);
    g_assert_cmpint (gdk_texture_get_height (texture), ==, rows);
    g_assert_cmpfloat_with_epsilon (drawn_cell, cell, 1e-9);
    pixels = g_malloc ((gsize) rows * cols * 4);
    gdk_texture_download (texture, pixels, (gsize) cols * 4);
    for (int i = 0; i < rows * cols; i++)
      {
        if (map[i] > map[top])
          top = i;
        if (pixels[i * 4 + 3] > pixels[brightest * 4 + 3])
          brightest = i;
      }
    g_test_message ("CLIP's map: %d × %d cells of %.0f px, highest at %d", rows, cols, cell, top);
    g_assert_cmpint (brightest, ==, top);
    test_ui_shot (GTK_WIDGET (window), "clip-phrase-map");
    /* H: the detections' class scores instead (CenterNet, computed now) */
    gtk_widget_activate_action (GTK_WIDGET (window), "win.heatmap", NULL);
    g_assert_true (qr_viewer_page_get_heatmap_on (QR_VIEWER_PAGE (viewer)));
    {
      HeatWait w = { viewer, "All classes" };
      test_ui_spin_until (heatmap_titled_as, &w, 60);
    }
  }
  gtk_window_destroy (GTK_WINDOW (window));
  test_remove_tree (tmp);
}

/* Set by main: this process has a mount namespace of its own (root and unshare), so a test may
 * mount a small tmpfs without touching the machine's mounts. */
static gboolean private_mounts;

static int
count_labels (const char *db, const char *root)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (QrCatalog) catalog = qr_catalog_open (root, db, &error);
  g_autoptr (GPtrArray) labels = NULL;

  g_assert_no_error (error);
  labels = qr_catalog_list_labels (catalog, QR_LABEL_FILTER_ALL, &error);
  g_assert_no_error (error);
  return (int) labels->len;
}

/* A drag on the canvas after B, as the pointer would do it: a box from image point (x, y). */
static void
draw_box (GtkWidget *canvas, double x, double y)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (canvas);
  GtkGesture *drag = NULL;
  double wx, wy;

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GObject) c = g_list_model_get_item (controllers, i);
      if (GTK_IS_GESTURE_DRAG (c))
        drag = GTK_GESTURE (c);
    }
  g_assert_nonnull (drag);
  g_assert_true (gtk_widget_activate_action (canvas, "canvas.draw", NULL));
  qr_canvas_image_to_widget (QR_CANVAS (canvas), x, y, &wx, &wy);
  g_signal_emit_by_name (drag, "drag-begin", wx, wy);
  g_signal_emit_by_name (drag, "drag-update", 60.0, 50.0);
  g_signal_emit_by_name (drag, "drag-end", 60.0, 50.0);
  for (int i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
}

/* The catalog on a full disk (a 1 MB tmpfs filled up), edits driven through the window: a box
 * drawn while the disk is full is refused with a message saying so and nothing stored; the
 * edits made before stay on the undo stack and undo once there is room; the catalog stays
 * whole. */
static void
test_full_disk (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  g_autofree char *disk = g_build_filename (tmp, "disk", NULL);
  g_autofree char *root = g_build_filename (tmp, "c", NULL);
  g_autofree char *db = g_build_filename (disk, "catalog.sqlite", NULL);
  g_autofree char *filler = g_build_filename (disk, "filler", NULL);
  g_autofree char *image = g_build_filename (root, "a.jpg", NULL);
  g_autofree char *link = NULL, *link_dir = NULL;
  g_autoptr (QrImage) pixels = test_gradient_image (640, 480, 3);
  g_autoptr (GError) error = NULL;
  QrWindow *window;
  GtkWidget *canvas;
  const char *toast;

  if (!test_ui_have_display ())
    {
      g_test_skip ("no display");
      return;
    }
  g_assert_cmpint (g_mkdir (disk, 0700), ==, 0);
  if (!private_mounts || mount ("tmpfs", disk, "tmpfs", 0, "size=1m") != 0)
    {
      g_test_skip ("a small tmpfs cannot be mounted here (needs root and a mount namespace)");
      test_remove_tree (tmp);
      return;
    }
  g_assert_cmpint (g_mkdir (root, 0700), ==, 0);
  test_write_jpeg (image, pixels, 1);
  {
    g_autoptr (QrCatalog) catalog = qr_catalog_open (root, db, &error);
    g_assert_no_error (error);
    g_assert_true (qr_index_collection (catalog, NULL, NULL, NULL, NULL, NULL, &error));
    g_assert_cmpint (qr_catalog_ensure_class (catalog, "dog", &error), >, 0);
  }
  /* the app opens a collection's catalog at its default place: a link there to the tmpfs */
  link = qr_catalog_default_path (root);
  link_dir = g_path_get_dirname (link);
  g_assert_cmpint (g_mkdir_with_parents (link_dir, 0700), ==, 0);
  g_assert_cmpint (symlink (db, link), ==, 0);

  window = qr_window_new (NULL, NULL);
  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 700);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (qr_window_open_collection (window, root, &error));
  g_assert_no_error (error);
  test_ui_spin_until (test_ui_window_idle, window, 30);
  g_signal_emit_by_name (qr_window_get_grid_view (window), "activate", 0);
  canvas = test_ui_find_type (GTK_WIDGET (window), QR_TYPE_CANVAS);
  while (gtk_widget_get_width (canvas) < 300)
    g_main_context_iteration (NULL, TRUE);
  for (int i = 0; i < 50; i++)
    g_main_context_iteration (NULL, FALSE);

  /* one box while there is room */
  draw_box (canvas, 100, 100);
  g_assert_cmpint (count_labels (db, root), ==, 1);

  /* fill the disk, then draw another */
  {
    int fd = g_open (filler, O_WRONLY | O_CREAT, 0600);
    char block[4096] = { 0 };
    g_assert_cmpint (fd, >=, 0);
    while (write (fd, block, sizeof block) > 0)
      ;
    close (fd);
  }
  draw_box (canvas, 300, 200);
  toast = qr_window_get_last_toast (window);
  g_test_message ("full disk, drawing: %s", toast);
  g_assert_nonnull (strstr (toast, "the disk is full"));
  g_assert_nonnull (strstr (toast, "was not stored"));
  g_assert_cmpint (count_labels (db, root), ==, 1);

  /* undo on the full disk: whether SQLite finds room for it or not, the step is either done
   * and said, or refused and still there to undo */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.undo", NULL));
  toast = qr_window_get_last_toast (window);
  g_test_message ("full disk, undoing: %s", toast);
  if (strstr (toast, "the disk is full") != NULL)
    {
      g_assert_cmpint (count_labels (db, root), ==, 1);
      g_unlink (filler);
      g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.undo", NULL));
    }
  else
    g_unlink (filler);
  g_assert_cmpstr (qr_window_get_last_toast (window), ==, "Undone on a.jpg: removed the new object box");
  g_assert_cmpint (count_labels (db, root), ==, 0);

  /* with room again: redo, and the box refused before is drawn now */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.redo", NULL));
  g_assert_cmpstr (qr_window_get_last_toast (window), ==, "Redone on a.jpg: added the object box again");
  draw_box (canvas, 300, 200);
  g_assert_cmpint (count_labels (db, root), ==, 2);
  {
    g_autoptr (QrCatalog) catalog = qr_catalog_open (root, db, &error);
    g_assert_true (qr_catalog_check_integrity (catalog, &error));
    g_assert_no_error (error);
  }

  gtk_window_destroy (GTK_WINDOW (window));
  for (int i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_unlink (link);
  umount2 (disk, MNT_DETACH);
  test_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  /* before GTK starts threads (unshare needs a single thread): a private mount namespace when
   * this runs as root, for the full-disk test's tmpfs */
  if (geteuid () == 0 && unshare (CLONE_NEWNS) == 0)
    private_mounts = mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
  test_ui_init (&argc, &argv);
  g_test_add_func ("/ui/canvas/overlays-and-zoom", test_canvas);
  g_test_add_func ("/ui/canvas/overlay-colours-and-tags", test_overlay_style);
  g_test_add_func ("/ui/canvas/accept-relabel-nudge-delete-undo", test_canvas_editing);
  g_test_add_func ("/ui/review/accept-then-undo", test_review_queue);
  g_test_add_func ("/ui/review/trust-undo-across-images-reviewed", test_review_trust);
  g_test_add_func ("/ui/window/narrow-stays-narrow", test_narrow_window);
  g_test_add_func ("/ui/search/words-rank-the-gallery", test_search);
  g_test_add_func ("/ui/search/clip-embeddings-then-search", test_clip_search);
  g_test_add_func ("/ui/edit/full-disk", test_full_disk);
  return test_ui_run ();
}
