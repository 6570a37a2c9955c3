/* qr-application.c: Quorum's AdwApplication. It finds the settings schema (installed, or the
 * one compiled into the build tree when run uninstalled), owns the app-wide actions, and opens
 * a window on the folder given, the last collection, or the bundled demo collection. */
#define G_LOG_DOMAIN "quorum-app"

#include "quorum-config.h"
#include "qr-application.h"
#include "qr-window.h"

#include <glib/gi18n.h>

void quorum_register_resource (void);

struct _QrApplication
{
  AdwApplication  parent_instance;

  /* Owned references */
  GSettings      *settings;   /* NULL when no schema can be found */
};

G_DEFINE_FINAL_TYPE (QrApplication, qr_application, ADW_TYPE_APPLICATION)

static GSettings *
find_settings (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema = NULL;
  g_autoptr (GSettingsSchemaSource) build_source = NULL;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, QUORUM_APP_ID, TRUE);
  if (schema == NULL)
    {
      build_source = g_settings_schema_source_new_from_directory (QUORUM_BUILD_SCHEMA_DIR, source, FALSE, NULL);
      if (build_source != NULL)
        schema = g_settings_schema_source_lookup (build_source, QUORUM_APP_ID, FALSE);
    }
  if (schema == NULL)
    {
      g_warning ("settings schema %s not found: nothing will be remembered", QUORUM_APP_ID);
      return NULL;
    }
  return g_settings_new_full (schema, NULL, NULL);
}

static const char *
demo_dir (void)
{
  if (g_file_test (QUORUM_DEMO_DIR_SOURCE, G_FILE_TEST_IS_DIR))
    return QUORUM_DEMO_DIR_SOURCE;
  if (g_file_test (QUORUM_DEMO_DIR_INSTALLED, G_FILE_TEST_IS_DIR))
    return QUORUM_DEMO_DIR_INSTALLED;
  return NULL;
}

static QrWindow *
new_window (QrApplication *self)
{
  return qr_window_new (GTK_APPLICATION (self), self->settings);
}

static void
open_in_window (QrWindow *window, const char *dir)
{
  g_autoptr (GError) error = NULL;

  if (dir != NULL && !qr_window_open_collection (window, dir, &error))
    g_warning ("%s", error->message);
}

static void
qr_application_activate (GApplication *app)
{
  QrApplication *self = QR_APPLICATION (app);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));
  g_autofree char *last = NULL;

  if (window != NULL)
    {
      gtk_window_present (window);
      return;
    }
  window = GTK_WINDOW (new_window (self));
  if (self->settings != NULL)
    last = g_settings_get_string (self->settings, "last-collection");
  if (last != NULL && *last != '\0' && g_file_test (last, G_FILE_TEST_IS_DIR))
    open_in_window (QR_WINDOW (window), last);
  else
    open_in_window (QR_WINDOW (window), demo_dir ());
  gtk_window_present (window);
}

static void
qr_application_open (GApplication *app, GFile **files, int n_files, const char *hint)
{
  QrApplication *self = QR_APPLICATION (app);

  for (int i = 0; i < n_files; i++)
    {
      g_autofree char *path = g_file_get_path (files[i]);
      QrWindow *window = new_window (self);

      if (path == NULL || !g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          g_printerr ("quorum: %s: not a folder\n", path ? path : g_file_peek_path (files[i]));
          gtk_window_destroy (GTK_WINDOW (window));
          continue;
        }
      open_in_window (window, path);
      gtk_window_present (GTK_WINDOW (window));
    }
}

static void
action_quit (GSimpleAction *action, GVariant *param, gpointer data)
{
  GList *windows = gtk_application_get_windows (GTK_APPLICATION (data));

  /* Closing each window saves its state and cancels its jobs; what is committed stays. */
  while (windows != NULL)
    {
      GList *next = windows->next;
      gtk_window_close (windows->data);
      windows = next;
    }
}

static void
action_about (GSimpleAction *action, GVariant *param, gpointer data)
{
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (data));
  const char *developers[] = { "The Quorum developers", NULL };

  adw_show_about_window (parent,
                         "application-name", "Quorum",
                         "application-icon", QUORUM_APP_ID,
                         "version", QUORUM_VERSION,
                         "comments", _("Find and fix the mistakes in object-detection datasets"),
                         "developers", developers,
                         "license-type", GTK_LICENSE_MIT_X11,
                         NULL);
}

static const GActionEntry app_actions[] = {
  { "quit", action_quit, NULL, NULL, NULL, { 0 } },
  { "about", action_about, NULL, NULL, NULL, { 0 } },
};

static void
qr_application_startup (GApplication *app)
{
  QrApplication *self = QR_APPLICATION (app);
  const char *quit_accels[] = { "<Control>q", NULL };
  const char *help_accels[] = { "<Control>question", NULL };

  quorum_register_resource ();
  G_APPLICATION_CLASS (qr_application_parent_class)->startup (app);
  gtk_icon_theme_add_resource_path (gtk_icon_theme_get_for_display (gdk_display_get_default ()),
                                    "/io/github/quorum/Quorum/icons");
  self->settings = find_settings ();
  g_action_map_add_action_entries (G_ACTION_MAP (app), app_actions, G_N_ELEMENTS (app_actions), app);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "win.show-help-overlay", help_accels);
  for (const QrWindowAccel *a = qr_window_get_accels (); a->action != NULL; a++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (app), a->action, a->keys);
}

/* Quitting while a model runs: cancel it and let it return before the libraries it uses go. */
static void
qr_application_shutdown (GApplication *app)
{
  qr_window_stop_workers ();
  G_APPLICATION_CLASS (qr_application_parent_class)->shutdown (app);
}

static void
qr_application_dispose (GObject *object)
{
  g_clear_object (&QR_APPLICATION (object)->settings);
  G_OBJECT_CLASS (qr_application_parent_class)->dispose (object);
}

static void
qr_application_class_init (QrApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = qr_application_dispose;
  app_class->startup = qr_application_startup;
  app_class->shutdown = qr_application_shutdown;
  app_class->activate = qr_application_activate;
  app_class->open = qr_application_open;
}

static void
qr_application_init (QrApplication *self)
{
}

int
qr_application_main (int argc, char **argv)
{
  g_autoptr (QrApplication) app = g_object_new (QR_TYPE_APPLICATION,
                                                "application-id", QUORUM_APP_ID,
                                                "flags", G_APPLICATION_HANDLES_OPEN,
                                                "resource-base-path", "/io/github/quorum/Quorum",
                                                NULL);
  g_set_application_name ("Quorum");
  return g_application_run (G_APPLICATION (app), argc, argv);
}
