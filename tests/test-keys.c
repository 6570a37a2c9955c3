/* test-keys.c: the viewer's keys as a person presses them: real key events (XTEST, sent with
 * xdotool to the window that has the X focus). A suite of its own, run alone (RUN_SERIAL): a key
 * press goes to whichever window has the focus, and windows of other tests — even earlier tests
 * of the same process — can hold it. */
#include "qr-catalog.h"
#include "qr-indexer.h"
#include "qr-window.h"
#include "qr-canvas.h"
#include "test-util.h"
#include "test-ui-util.h"

#include <adwaita.h>

/* Real key presses (XTEST, through xdotool, to the focused window): after a click on an inspector
 * row took the focus away from the canvas, L still reaches the canvas (its legend goes) and B
 * still starts a box. Skips where xdotool or an X display is missing. */
static void
test_keys_after_inspector_click (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  g_autoptr (GError) error = NULL;
  g_autoptr (QrImage) pixels = test_gradient_image (640, 480, 5);
  g_autofree char *path = g_build_filename (tmp, "a.jpg", NULL);
  g_autofree char *xdotool = g_find_program_in_path ("xdotool");
  QrWindow *window;
  QrCanvas *canvas;
  GtkWidget *inspector, *row = NULL;
  int status = -1;

  if (!test_ui_have_display () || xdotool == NULL || g_getenv ("DISPLAY") == NULL)
    {
      g_test_skip ("needs an X display and xdotool");
      return;
    }
  test_write_jpeg (path, pixels, 1);
  {
    g_autoptr (QrCatalog) catalog = qr_catalog_open (tmp, NULL, &error);
    g_autoptr (GPtrArray) images = NULL;
    QrBox box = { 100, 100, 300, 400 };
    g_assert_true (qr_index_collection (catalog, NULL, NULL, NULL, NULL, NULL, &error));
    images = qr_catalog_list_images (catalog, -1, &error);
    qr_catalog_add_label (catalog, ((QrImageRecord *) images->pdata[0])->id,
                          qr_catalog_ensure_class (catalog, "dog", &error), &box, QR_LABEL_SOURCE_IMPORTED, NULL,
                          &error);
  }
  window = qr_window_new (NULL, NULL);
  gtk_window_set_title (GTK_WINDOW (window), "quorum-key-test");
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (qr_window_open_collection (window, tmp, &error));
  test_ui_spin_until (test_ui_window_idle, window, 30);
  g_signal_emit_by_name (qr_window_get_grid_view (window), "activate", 0);
  for (int i = 0; i < 50; i++)
    g_main_context_iteration (NULL, FALSE);
  canvas = QR_CANVAS (test_ui_find_type (GTK_WIDGET (window), QR_TYPE_CANVAS));
  inspector = test_ui_find_named (GTK_WIDGET (window), "inspector");
  for (GtkWidget *c = gtk_widget_get_first_child (inspector); c != NULL && row == NULL; c = gtk_widget_get_next_sibling (c))
    if (g_object_get_data (G_OBJECT (c), "overlay-index") != NULL || ADW_IS_ACTION_ROW (c))
      row = c;
  g_assert_nonnull (row);
  /* the inspector row has the focus now, as after a click on it */
  gtk_widget_grab_focus (row);
  g_assert_false (gtk_widget_has_focus (GTK_WIDGET (canvas)));
  g_assert_true (qr_canvas_get_legend_visible (canvas));
  for (int i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  {
    /* focus first, let GTK take the focus-in, then the key */
    const char *focus[] = { xdotool, "search", "--sync", "--name", "quorum-key-test", "windowfocus", "--sync", NULL };
    const char *key[] = { xdotool, "key", "l", NULL };
    gint64 settle;
    g_spawn_sync (NULL, (char **) focus, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                  NULL, NULL, &status, &error);
    settle = g_get_monotonic_time () + G_USEC_PER_SEC / 2;
    while (g_get_monotonic_time () < settle)
      g_main_context_iteration (NULL, FALSE);
    /* up to three tries: a loaded machine may deliver the first press before the focus-in */
    for (int attempt = 0; attempt < 3 && status == 0 && qr_canvas_get_legend_visible (canvas); attempt++)
      {
        gint64 end;
        g_spawn_sync (NULL, (char **) key, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                      NULL, NULL, &status, &error);
        end = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;
        while (qr_canvas_get_legend_visible (canvas) && g_get_monotonic_time () < end)
          g_main_context_iteration (NULL, FALSE);
      }
  }
  g_assert_no_error (error);
  if (status != 0)
    {
      g_test_skip ("xdotool could not focus the window here");
      gtk_window_destroy (GTK_WINDOW (window));
      test_remove_tree (tmp);
      return;
    }
  g_assert_false (qr_canvas_get_legend_visible (canvas));
  gtk_window_destroy (GTK_WINDOW (window));
  test_remove_tree (tmp);
}


int
main (int argc, char **argv)
{
  test_ui_init (&argc, &argv);
  g_test_add_func ("/ui/viewer/keys-after-inspector-click", test_keys_after_inspector_click);
  return test_ui_run ();
}
