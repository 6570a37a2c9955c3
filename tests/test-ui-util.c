/* test-ui-util.c: what the GUI test programs share: GTK and the app's resources set up when there
 * is a display, a main loop spun until a condition holds, widgets found by name. */
#include "test-ui-util.h"
#include "qr-window.h"

#include <string.h>

void quorum_register_resource (void);

static gboolean have_display;

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

void
test_ui_init (int *argc, char ***argv)
{
  g_test_init (argc, argv, NULL);
  g_log_set_writer_func (log_writer, NULL, NULL);
  have_display = gtk_init_check ();
  if (have_display)
    {
      quorum_register_resource ();
      adw_init ();
    }
}

gboolean
test_ui_have_display (void)
{
  return have_display;
}

int
test_ui_run (void)
{
  int status = g_test_run ();

  qr_window_stop_workers ();
  return status;
}

void
test_ui_spin_until (gboolean (*done) (gpointer), gpointer data, double timeout_s)
{
  gint64 end = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);

  while (!done (data) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);
  g_assert_true (done (data));
}

gboolean
test_ui_window_idle (gpointer window)
{
  return !qr_window_is_busy (window);
}

GtkWidget *
test_ui_find_type (GtkWidget *root, GType type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type))
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = test_ui_find_type (c, type);
      if (found != NULL)
        return found;
    }
  return NULL;
}

GtkWidget *
test_ui_find_named (GtkWidget *root, const char *name)
{
  if (g_strcmp0 (gtk_widget_get_name (root), name) == 0)
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = test_ui_find_named (c, name);
      if (found != NULL)
        return found;
    }
  return NULL;
}

void
test_ui_shot (GtkWidget *window, const char *name)
{
  const char *dir = g_getenv ("QUORUM_TEST_SHOTS");
  g_autoptr (GdkPaintable) paintable = NULL;
  g_autoptr (GtkSnapshot) snapshot = NULL;
  g_autoptr (GskRenderNode) node = NULL;
  g_autoptr (GdkTexture) texture = NULL;
  g_autofree char *file = NULL, *path = NULL;
  int w = gtk_widget_get_width (window), h = gtk_widget_get_height (window);

  if (dir == NULL || w <= 0 || h <= 0)
    return;
  /* a page's crossfade runs on the frame clock: let it end */
  {
    gint64 until = g_get_monotonic_time () + G_USEC_PER_SEC;
    while (g_get_monotonic_time () < until)
      {
        g_main_context_iteration (NULL, FALSE);
        g_usleep (10000);
      }
  }
  paintable = gtk_widget_paintable_new (window);
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, GDK_SNAPSHOT (snapshot), w, h);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  if (node == NULL)
    return;
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (window)), node, NULL);
  file = g_strconcat (name, ".png", NULL);
  path = g_build_filename (dir, file, NULL);
  if (!gdk_texture_save_to_png (texture, path))
    g_warning ("could not save %s", path);
  else
    g_test_message ("saved %s", path);
}
