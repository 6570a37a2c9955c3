/* qr-export-dialog.c: the Export dialog: format, which labels, split and seed, image copies or
 * links, the target folder; the export runs on a thread (its own catalog connection) with a
 * progress bar and can be cancelled. Same choices as `quorum export`. */
#define G_LOG_DOMAIN "quorum-export"

#include "qr-export-dialog.h"
#include "qr-dataset.h"
#include "qr-progress.h"

#include <glib/gi18n.h>
#include <unistd.h>

struct _QrExportDialog
{
  AdwWindow       parent_instance;

  /* Owned widgets of interest (children of the window) */
  AdwComboRow    *format_row;
  AdwComboRow    *filter_row;
  AdwComboRow    *images_row;
  GtkSpinButton  *split_spin;
  GtkSpinButton  *seed_spin;
  AdwActionRow   *folder_row;
  GtkProgressBar *progress;
  GtkButton      *export_button;
  AdwToastOverlay *toasts;

  /* Owned references */
  char           *root;
  char           *db_path;
  char           *folder;      /* the parent folder the export goes into */
  char           *last_export; /* the folder the last export made */
  char           *message;     /* the last toast's words */
  GCancellable   *cancellable;
};

G_DEFINE_FINAL_TYPE (QrExportDialog, qr_export_dialog, ADW_TYPE_WINDOW)

typedef struct
{
  char            *root;
  char            *db_path;
  char            *out_dir;
  QrExportOptions  options;
  QrExportDialog  *dialog;
  QrExportStats    stats;
} ExportJob;

static void
export_job_free (ExportJob *job)
{
  g_free (job->root);
  g_free (job->db_path);
  g_free (job->out_dir);
  g_free (job);
}

static void
export_progress (guint64 done, guint64 total, gpointer data)
{
  ExportJob *job = data;
  qr_progress_post (job->dialog->progress, done, total);
}

static void
run_export (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  ExportJob *job = task_data;
  GError *error = NULL;
  g_autoptr (QrCatalog) catalog = qr_catalog_open (job->root, job->db_path, &error);

  if (catalog == NULL
      || !qr_dataset_export (catalog, &job->options, &job->stats, export_progress, job, cancellable, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
set_busy (QrExportDialog *self, gboolean busy)
{
  gtk_widget_set_sensitive (GTK_WIDGET (self->format_row), !busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->filter_row), !busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->images_row), !busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->split_spin), !busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->seed_spin), !busy);
  gtk_button_set_label (self->export_button, busy ? _("_Cancel") : _("_Export"));
  gtk_widget_set_visible (GTK_WIDGET (self->progress), busy);
}

static void
export_done (GObject *source, GAsyncResult *result, gpointer data)
{
  QrExportDialog *self = QR_EXPORT_DIALOG (source);
  ExportJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  g_autofree char *message = NULL;

  g_clear_object (&self->cancellable);
  set_busy (self, FALSE);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      message = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                  ? g_strdup (_("Export cancelled: nothing was written"))
                  : g_strdup (error->message);
      g_free (self->message);
      self->message = g_strdup (message);
      adw_toast_overlay_add_toast (self->toasts, adw_toast_new (message));
      return;
    }
  message = g_strdup_printf (_("Exported %u images (%u train, %u val) and %u labels to %s"), job->stats.images,
                             job->stats.train, job->stats.val, job->stats.labels, job->out_dir);
  g_free (self->message);
  self->message = g_strdup (message);
  {
    AdwToast *toast = adw_toast_new (message);
    adw_toast_set_button_label (toast, _("Open Folder"));
    adw_toast_set_action_name (toast, "export.open-folder");
    adw_toast_set_action_target_value (toast, g_variant_new_string (job->out_dir));
    adw_toast_set_timeout (toast, 0);
    g_free (self->last_export);
    self->last_export = g_strdup (job->out_dir);
    adw_toast_overlay_add_toast (self->toasts, toast);
  }
}

/* The toast's Open Folder: the file manager on the new dataset. */
static void
action_open_folder (GtkWidget *widget, const char *name, GVariant *param)
{
  g_autoptr (GFile) folder = g_file_new_for_path (g_variant_get_string (param, NULL));
  g_autofree char *uri = g_file_get_uri (folder);
  gtk_show_uri (GTK_WINDOW (widget), uri, GDK_CURRENT_TIME);
}

static void
start_export (QrExportDialog *self)
{
  static const QrDatasetFormat formats[] = { QR_DATASET_COCO, QR_DATASET_YOLO, QR_DATASET_VOC, QR_DATASET_CSV };
  static const QrLabelFilter filters[] = { QR_LABEL_FILTER_ALL, QR_LABEL_FILTER_REVIEWED, QR_LABEL_FILTER_CORRECTED };
  static const QrExportImages images[] = { QR_EXPORT_IMAGES_NONE, QR_EXPORT_IMAGES_COPY, QR_EXPORT_IMAGES_LINK };
  g_autoptr (GTask) task = NULL;
  g_autofree char *name = NULL;
  ExportJob *job;

  if (self->folder == NULL)
    {
      adw_toast_overlay_add_toast (self->toasts, adw_toast_new (_("Choose a folder to export into")));
      return;
    }
  job = g_new0 (ExportJob, 1);
  job->root = g_strdup (self->root);
  job->db_path = g_strdup (self->db_path);
  job->dialog = self;
  qr_export_options_init (&job->options);
  job->options.format = formats[adw_combo_row_get_selected (self->format_row)];
  job->options.filter = filters[adw_combo_row_get_selected (self->filter_row)];
  job->options.images = images[adw_combo_row_get_selected (self->images_row)];
  job->options.split = gtk_spin_button_get_value (self->split_spin);
  job->options.seed = (guint64) gtk_spin_button_get_value_as_int (self->seed_spin);
  {
    g_autofree char *base = g_path_get_basename (self->root);
    name = g_strdup_printf ("%s-%s", base, qr_dataset_format_to_string (job->options.format));
  }
  /* A fresh name in the chosen folder: an export never replaces anything from the dialog. */
  job->out_dir = g_build_filename (self->folder, name, NULL);
  for (int n = 2; g_file_test (job->out_dir, G_FILE_TEST_EXISTS); n++)
    {
      g_free (job->out_dir);
      job->out_dir = g_strdup_printf ("%s/%s-%d", self->folder, name, n);
    }
  job->options.out_dir = job->out_dir;

  self->cancellable = g_cancellable_new ();
  task = g_task_new (self, self->cancellable, export_done, NULL);
  g_task_set_task_data (task, job, (GDestroyNotify) export_job_free);
  set_busy (self, TRUE);
  gtk_progress_bar_set_fraction (self->progress, 0);
  g_task_run_in_thread (task, run_export);
}

static void
export_clicked (GtkButton *button, QrExportDialog *self)
{
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  else
    start_export (self);
}

static void
folder_chosen (GtkNativeDialog *chooser, int response, QrExportDialog *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_free (self->folder);
      self->folder = g_file_get_path (folder);
      adw_action_row_set_subtitle (self->folder_row, self->folder);
    }
  g_object_unref (chooser);
}

static void
choose_folder (GtkButton *button, QrExportDialog *self)
{
  GtkFileChooserNative *chooser = gtk_file_chooser_native_new (_("Export Into"), GTK_WINDOW (self),
                                                               GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Select"),
                                                               _("_Cancel"));
  g_signal_connect (chooser, "response", G_CALLBACK (folder_chosen), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static AdwComboRow *
combo_row (AdwPreferencesGroup *group, const char *title, const char *const *choices)
{
  AdwComboRow *row = ADW_COMBO_ROW (adw_combo_row_new ());
  g_autoptr (GtkStringList) model = gtk_string_list_new (choices);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_combo_row_set_model (row, G_LIST_MODEL (model));
  adw_preferences_group_add (group, GTK_WIDGET (row));
  return row;
}

static GtkSpinButton *
spin_row (AdwPreferencesGroup *group, const char *title, const char *subtitle, double lower, double upper,
          double step, double value, guint digits)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *spin = gtk_spin_button_new_with_range (lower, upper, step);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  gtk_spin_button_set_digits (GTK_SPIN_BUTTON (spin), digits);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin), value);
  gtk_widget_set_valign (spin, GTK_ALIGN_CENTER);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), spin);
  adw_preferences_group_add (group, row);
  return GTK_SPIN_BUTTON (spin);
}

static void
qr_export_dialog_dispose (GObject *object)
{
  QrExportDialog *self = QR_EXPORT_DIALOG (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (qr_export_dialog_parent_class)->dispose (object);
}

static void
qr_export_dialog_finalize (GObject *object)
{
  QrExportDialog *self = QR_EXPORT_DIALOG (object);

  g_free (self->root);
  g_free (self->db_path);
  g_free (self->folder);
  g_free (self->last_export);
  g_free (self->message);
  G_OBJECT_CLASS (qr_export_dialog_parent_class)->finalize (object);
}

static void
qr_export_dialog_class_init (QrExportDialogClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = qr_export_dialog_dispose;
  G_OBJECT_CLASS (klass)->finalize = qr_export_dialog_finalize;
  gtk_widget_class_add_binding_action (GTK_WIDGET_CLASS (klass), GDK_KEY_Escape, 0, "window.close", NULL);
  gtk_widget_class_install_action (GTK_WIDGET_CLASS (klass), "export.open-folder", "s", action_open_folder);
}

static void
qr_export_dialog_init (QrExportDialog *self)
{
  static const char *const formats[] = { "COCO JSON", "YOLO / Darknet", "Pascal VOC XML", "CSV", NULL };
  static const char *const filters[] = { N_("All labels"), N_("Reviewed images only"), N_("Corrected labels only"),
                                         NULL };
  static const char *const images[] = { N_("Labels only"), N_("Copy the images"), N_("Link to the images"), NULL };
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *header = adw_header_bar_new ();
  GtkWidget *page = adw_preferences_page_new ();
  AdwPreferencesGroup *what = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
  AdwPreferencesGroup *where = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
  GtkWidget *choose = gtk_button_new_from_icon_name ("folder-open-symbolic");

  gtk_window_set_title (GTK_WINDOW (self), _("Export Labels"));
  gtk_window_set_default_size (GTK_WINDOW (self), 520, 560);
  gtk_window_set_modal (GTK_WINDOW (self), TRUE);

  self->export_button = GTK_BUTTON (gtk_button_new_with_mnemonic (_("_Export")));
  gtk_widget_add_css_class (GTK_WIDGET (self->export_button), "suggested-action");
  g_signal_connect (self->export_button, "clicked", G_CALLBACK (export_clicked), self);
  adw_header_bar_pack_end (ADW_HEADER_BAR (header), GTK_WIDGET (self->export_button));
  gtk_box_append (GTK_BOX (box), header);

  adw_preferences_group_set_title (what, _("Dataset"));
  self->format_row = combo_row (what, _("Format"), formats);
  self->filter_row = combo_row (what, _("Labels"), filters);
  self->images_row = combo_row (what, _("Images"), images);
  self->split_spin = spin_row (what, _("Train Share"), _("The rest goes to val; 1 means no split"), 0.05, 1, 0.05,
                               0.9, 2);
  self->seed_spin = spin_row (what, _("Seed"), _("The same seed always gives the same split"), 0, 1e9, 1, 0, 0);
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), what);

  adw_preferences_group_set_title (where, _("Destination"));
  self->folder_row = ADW_ACTION_ROW (adw_action_row_new ());
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->folder_row), _("Folder"));
  adw_action_row_set_subtitle (self->folder_row, _("None chosen"));
  gtk_widget_set_valign (choose, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (choose, _("Choose a Folder"));
  gtk_widget_add_css_class (choose, "flat");
  g_signal_connect (choose, "clicked", G_CALLBACK (choose_folder), self);
  adw_action_row_add_suffix (self->folder_row, choose);
  adw_preferences_group_add (where, GTK_WIDGET (self->folder_row));
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), where);

  self->progress = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
  gtk_widget_set_margin_start (GTK_WIDGET (self->progress), 24);
  gtk_widget_set_margin_end (GTK_WIDGET (self->progress), 24);
  gtk_widget_set_margin_bottom (GTK_WIDGET (self->progress), 18);
  gtk_widget_set_visible (GTK_WIDGET (self->progress), FALSE);

  gtk_widget_set_vexpand (page, TRUE);
  gtk_box_append (GTK_BOX (box), page);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->progress));
  self->toasts = ADW_TOAST_OVERLAY (adw_toast_overlay_new ());
  adw_toast_overlay_set_child (self->toasts, box);
  adw_window_set_content (ADW_WINDOW (self), GTK_WIDGET (self->toasts));
}

QrExportDialog *
qr_export_dialog_new (GtkWindow *parent, const char *root, const char *db_path)
{
  QrExportDialog *self = g_object_new (QR_TYPE_EXPORT_DIALOG, "transient-for", parent, NULL);
  const char *documents = g_get_user_special_dir (G_USER_DIRECTORY_DOCUMENTS);
  g_autofree char *beside = g_path_get_dirname (root);
  const char *fallback = documents != NULL && g_file_test (documents, G_FILE_TEST_IS_DIR) ? documents
                                                                                         : g_get_home_dir ();

  self->root = g_strdup (root);
  self->db_path = g_strdup (db_path);
  /* Beside the collection (a new folder named after it), never inside it; where that folder
   * cannot be written (a read-only dataset), Documents or home. Shown, and easy to change. */
  if (access (beside, W_OK) == 0)
    self->folder = g_strdup (beside);
  else if (access (fallback, W_OK) == 0)
    self->folder = g_strdup (fallback);
  if (self->folder != NULL)
    adw_action_row_set_subtitle (self->folder_row, self->folder);
  return self;
}

void
qr_export_dialog_set_folder (QrExportDialog *self, const char *folder)
{
  g_free (self->folder);
  self->folder = g_strdup (folder);
  adw_action_row_set_subtitle (self->folder_row, folder);
}

void
qr_export_dialog_start (QrExportDialog *self)
{
  start_export (self);
}

void
qr_export_dialog_set_labels (QrExportDialog *self, const char *which)
{
  static const char *const names[] = { "all", "reviewed", "corrected" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_strcmp0 (which, names[i]) == 0)
      adw_combo_row_set_selected (self->filter_row, i);
}

const char *
qr_export_dialog_get_message (QrExportDialog *self)
{
  return self->message;
}

const char *
qr_export_dialog_get_folder (QrExportDialog *self)
{
  return self->folder;
}

const char *
qr_export_dialog_get_last_export (QrExportDialog *self)
{
  return self->last_export;
}

gboolean
qr_export_dialog_is_busy (QrExportDialog *self)
{
  return self->cancellable != NULL;
}
