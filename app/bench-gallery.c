/* bench-gallery.c: `quorum bench gallery` — the app's gallery on a large collection, measured as
 * a person would feel it. It generates N small JPEGs (100,000 by default), indexes them and makes
 * their thumbnails headless (timed), then opens the real window on them under the display it is
 * given (Xvfb in CI: `xvfb-run quorum bench gallery`), and reports
 *   - how long until the grid shows all N items,
 *   - frame intervals while the grid scrolls at a steady 3,000 px/s and then jumps to 30 random
 *     places (median, 95th and 99th percentile, worst), taken from the frame clock,
 *   - the main loop's longest stall (qr-stall-monitor.h) over the same time,
 *   - resident memory before the window opens, after it shows the grid, after the scrolling,
 *   - with --detect, the longest stall while CenterNet runs over the demo photos in the window.
 * Under Xvfb GTK draws with cairo in software: frames cost far more than on a GPU-drawn desktop,
 * so read the numbers as a worst case for the same code. */
#define G_LOG_DOMAIN "quorum-bench"

#include "quorum-config.h"
#include "qr-cli.h"
#include "qr-catalog.h"
#include "qr-indexer.h"
#include "qr-thumbnailer.h"
#include "qr-window.h"
#include "qr-image-list.h"
#include "qr-stall-monitor.h"
#include "qr-files.h"

#include <adwaita.h>
#include <gtk/gtk.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void quorum_register_resource (void);

static double
rss_mb (void)
{
  g_autofree char *status = NULL;
  const char *line;
  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL) || (line = strstr (status, "VmRSS:")) == NULL)
    return -1;
  return g_ascii_strtod (line + 6, NULL) / 1024.0;
}

static double
seconds_since (gint64 start)
{
  return (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC;
}

typedef struct
{
  GtkAdjustment *adj;
  GArray        *intervals;   /* double, ms: steady scrolling */
  GArray        *jumps;       /* double, ms: the frame after each jump */
  gint64         last_frame;
  gint64         started;
  double         speed;       /* px per second */
  double         seconds;
  int            jumps_left;
  GRand         *rand;
  gboolean       jumped;
  gboolean       done;
} Scroll;

static gboolean
on_tick (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  Scroll *s = data;
  gint64 now = gdk_frame_clock_get_frame_time (clock);
  double lower = gtk_adjustment_get_lower (s->adj);
  double top = gtk_adjustment_get_upper (s->adj) - gtk_adjustment_get_page_size (s->adj);

  if (s->last_frame != 0)
    {
      double ms = (double) (now - s->last_frame) / 1000.0;
      gboolean steady = (double) (now - s->started) / G_USEC_PER_SEC < s->seconds;
      /* the frame after a jump, or one more steady frame */
      g_array_append_val (s->jumped ? s->jumps : s->intervals, ms);
      s->jumped = FALSE;
      if (steady)
        gtk_adjustment_set_value (s->adj, MIN (top, gtk_adjustment_get_value (s->adj) + s->speed * ms / 1000.0));
      else if (s->jumps_left-- > 0)
        {
          gtk_adjustment_set_value (s->adj, lower + g_rand_double (s->rand) * (top - lower));
          s->jumped = TRUE;
        }
      else
        {
          s->done = TRUE;
          return G_SOURCE_REMOVE;
        }
    }
  else
    s->started = now;
  s->last_frame = now;
  return G_SOURCE_CONTINUE;
}

static double
percentile (GArray *sorted, double p)
{
  guint i;
  if (sorted->len == 0)
    return 0;
  i = (guint) MIN ((double) sorted->len - 1, p * (double) (sorted->len - 1) + 0.5);
  return g_array_index (sorted, double, i);
}

static void
spin_while_busy (QrWindow *window, double timeout_s)
{
  gint64 end = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);
  while (qr_window_is_busy (window) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
}

static void
spin_for (double seconds)
{
  gint64 end = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);
  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);
}

int
qr_cli_bench_gallery (int argc, char **argv)
{
  int n_images = 100000;
  double seconds = 10;
  gboolean detect = FALSE;
  GOptionEntry entries[] = {
    { "images", 'n', 0, G_OPTION_ARG_INT, &n_images, "Images to generate (default 100000)", "N" },
    { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &seconds, "Seconds of steady scrolling (default 10)", "S" },
    { "detect", 0, 0, G_OPTION_ARG_NONE, &detect, "Also run CenterNet over the demo photos in the window", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("— the gallery on a large collection: frame times, stalls, memory");
  g_autoptr (GError) error = NULL;
  g_autofree char *tmp = NULL, *images = NULL, *xdg = NULL;
  g_autoptr (QrCatalog) catalog = NULL;
  g_autoptr (QrStallMonitor) stalls = NULL;
  QrWindow *window;
  Scroll scroll = { 0 };
  gint64 start;
  double t_files, t_index, t_thumbs, t_grid, rss_before, rss_grid, rss_after;
  guint tick;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return qr_cli_usage_error (context, error->message);
  if (n_images < 100 || seconds <= 0)
    return qr_cli_usage_error (context, "--images must be at least 100 and --seconds positive");

  /* a world of its own: catalogs under a temporary XDG_DATA_HOME, settings in memory */
  tmp = g_dir_make_tmp ("quorum-bench-XXXXXX", &error);
  if (tmp == NULL)
    return qr_cli_fail (g_steal_pointer (&error));
  xdg = g_build_filename (tmp, "xdg", NULL);
  g_setenv ("XDG_DATA_HOME", xdg, TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  if (!gtk_init_check ())
    {
      qr_remove_tree (tmp);
      fprintf (stderr, "quorum: bench gallery needs a display: run it under xvfb-run\n");
      return QR_EXIT_ERROR;
    }
  adw_init ();
  quorum_register_resource ();

  printf ("bench gallery: %d generated images, %.0f s of scrolling then 30 jumps, GSK renderer %s\n", n_images,
          seconds, g_getenv ("GSK_RENDERER") ? g_getenv ("GSK_RENDERER") : "default");
  images = g_build_filename (tmp, "images", NULL);
  start = g_get_monotonic_time ();
  for (int i = 0; i < n_images; i++)
    {
      g_autofree char *sub = g_strdup_printf ("%s/%03d", images, i / 1000);
      g_autofree char *path = g_strdup_printf ("%s/%06d.jpg", sub, i);
      if (i % 1000 == 0)
        g_mkdir_with_parents (sub, 0700);
      if (!qr_bench_write_small_jpeg (path, (guint) i, &error))
        goto fail;
    }
  t_files = seconds_since (start);
  catalog = qr_catalog_open (images, NULL, &error);
  if (catalog == NULL)
    goto fail;
  start = g_get_monotonic_time ();
  if (!qr_index_collection (catalog, NULL, NULL, NULL, NULL, NULL, &error))
    goto fail;
  t_index = seconds_since (start);
  start = g_get_monotonic_time ();
  if (!qr_thumbnails_update (catalog, NULL, NULL, NULL, NULL, NULL, &error))
    goto fail;
  t_thumbs = seconds_since (start);
  g_clear_object (&catalog);
  printf ("  setup (headless): files %.1f s, index %.1f s, thumbnails %.1f s\n", t_files, t_index, t_thumbs);

  rss_before = rss_mb ();
  window = qr_window_new (NULL, NULL);
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 800);
  gtk_window_present (GTK_WINDOW (window));
  start = g_get_monotonic_time ();
  if (!qr_window_open_collection (window, images, &error))
    goto fail;
  while (g_list_model_get_n_items (qr_window_get_images (window)) < (guint) n_images && seconds_since (start) < 60)
    g_main_context_iteration (NULL, TRUE);
  t_grid = seconds_since (start);
  spin_while_busy (window, 120);   /* the re-index finds every file unchanged */
  for (int i = 0; i < 20; i++)     /* a few frames for the first screen of thumbnails */
    g_main_context_iteration (NULL, FALSE);
  rss_grid = rss_mb ();
  printf ("  grid with %u items shown %.2f s after opening; re-index done %.2f s after opening\n",
          g_list_model_get_n_items (qr_window_get_images (window)), t_grid, seconds_since (start));

  {
    GtkWidget *grid = qr_window_get_grid_view (window);
    scroll.adj = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (grid));
    scroll.intervals = g_array_new (FALSE, FALSE, sizeof (double));
    scroll.jumps = g_array_new (FALSE, FALSE, sizeof (double));
    scroll.speed = 3000;
    scroll.seconds = seconds;
    scroll.jumps_left = 30;
    scroll.rand = g_rand_new_with_seed (7);
    stalls = qr_stall_monitor_new ();
    tick = gtk_widget_add_tick_callback (grid, on_tick, &scroll, NULL);
    start = g_get_monotonic_time ();
    while (!scroll.done && seconds_since (start) < seconds + 60)
      g_main_context_iteration (NULL, TRUE);
    if (!scroll.done)
      gtk_widget_remove_tick_callback (grid, tick);
  }
  rss_after = rss_mb ();
  g_array_sort (scroll.intervals, qr_cli_compare_doubles);
  g_array_sort (scroll.jumps, qr_cli_compare_doubles);
  printf ("  steady scrolling at %.0f px/s, %u frames: frame interval median %.1f ms, p95 %.1f, p99 %.1f, worst %.1f\n",
          scroll.speed, scroll.intervals->len, percentile (scroll.intervals, 0.5), percentile (scroll.intervals, 0.95),
          percentile (scroll.intervals, 0.99), percentile (scroll.intervals, 1.0));
  printf ("  %u jumps to random places (a whole screen of new cells): the frame after, median %.1f ms, worst %.1f\n",
          scroll.jumps->len, percentile (scroll.jumps, 0.5), percentile (scroll.jumps, 1.0));
  printf ("  main loop: longest stall %.1f ms, %u stalls over 50 ms\n",
          (double) qr_stall_monitor_get_longest_us (stalls) / 1000.0, qr_stall_monitor_get_n_over_50ms (stalls));
  printf ("  memory (RSS): %.0f MB before the window, %.0f MB with the grid, %.0f MB after scrolling\n", rss_before,
          rss_grid, rss_after);
  g_array_unref (scroll.intervals);
  g_array_unref (scroll.jumps);
  g_rand_free (scroll.rand);

  if (detect)
    {
      /* twice, each on its own copy of the photos: started once the window has drawn the index's
       * end (the detection's own stalls), and started the moment the index ends (its last frames,
       * the gallery and the sidebar redrawn whole, land in the detection's time) */
      for (int at_once = 0; at_once < 2; at_once++)
        {
          g_autofree char *demo = g_build_filename (tmp, at_once ? "demo-at-once" : "demo", NULL);
          g_autoptr (GDir) dir = g_dir_open (QUORUM_DEMO_DIR_SOURCE, 0, &error);
          const char *name;
          if (dir == NULL)
            goto fail;
          g_mkdir_with_parents (demo, 0700);
          while ((name = g_dir_read_name (dir)) != NULL)
            {
              g_autofree char *from = g_build_filename (QUORUM_DEMO_DIR_SOURCE, name, NULL);
              g_autofree char *to = g_build_filename (demo, name, NULL);
              g_autofree char *bytes = NULL;
              gsize len;
              if (g_file_get_contents (from, &bytes, &len, NULL))
                g_file_set_contents (to, bytes, (gssize) len, NULL);
            }
          if (!qr_window_open_collection (window, demo, &error))
            goto fail;
          spin_while_busy (window, 120);
          if (!at_once)
            spin_for (0.5);
          start = g_get_monotonic_time ();
          gtk_widget_activate_action (GTK_WIDGET (window), "win.detect", NULL);
          spin_while_busy (window, 600);
          printf ("  detection over the %s demo photos in the window, %s: %.1f s, main loop's longest stall %.1f ms\n",
                  "18", at_once ? "started the moment indexing ended" : "started 0.5 s after indexing ended",
                  seconds_since (start), (double) qr_window_get_last_job_stall_us (window) / 1000.0);
        }
    }
  gtk_window_destroy (GTK_WINDOW (window));
  qr_remove_tree (tmp);
  return QR_EXIT_OK;

fail:
  qr_remove_tree (tmp);
  return qr_cli_fail (g_steal_pointer (&error));
}
