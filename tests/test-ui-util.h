/* test-ui-util.h: what the GUI test programs (test-ui, test-viewer) share. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

/* g_test_init, then GTK, libadwaita and the app's resources where there is a display. */
void       test_ui_init           (int          *argc,
                                   char       ***argv);
gboolean   test_ui_have_display   (void);
/* g_test_run, then every window's background work stopped. */
int        test_ui_run            (void);
/* Spins the main loop until done (data) or timeout_s, then asserts done. */
void       test_ui_spin_until     (gboolean   (*done) (gpointer),
                                   gpointer      data,
                                   double        timeout_s);
/* done for test_ui_spin_until: the window (a QrWindow) runs no job. */
gboolean   test_ui_window_idle    (gpointer      window);
/* The first widget of type under root (root included), or NULL. */
GtkWidget *test_ui_find_type      (GtkWidget    *root,
                                   GType         type);
/* The widget named name (gtk_widget_set_name) under root, or NULL. */
GtkWidget *test_ui_find_named     (GtkWidget    *root,
                                   const char   *name);
/* With QUORUM_TEST_SHOTS=DIR: the window as drawn, saved as DIR/NAME.png (to look at). */
void       test_ui_shot           (GtkWidget    *window,
                                   const char   *name);

G_END_DECLS
