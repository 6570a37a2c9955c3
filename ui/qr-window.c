/* qr-window.c: the main window, a shell: the header bar, the sidebar and the pages (the gallery,
 * the viewer, "no images") in a stack, the job bar, the settings it remembers. Opening a
 * collection shows what its catalog already holds at once; a background job then re-indexes the
 * folder and makes missing thumbnails (qr-window-jobs.c). The pages do their own work and tell
 * the window through signals and properties; the window's actions are qr-window-actions.c's. */
#define G_LOG_DOMAIN "quorum-window"

#include "qr-window-private.h"
#include "qr-detector.h"

#include <glib/gi18n.h>

#define MAX_RECENT 10

G_DEFINE_FINAL_TYPE (QrWindow, qr_window, ADW_TYPE_APPLICATION_WINDOW)

void
qr_window_toast (QrWindow *self, const char *message)
{
  g_object_set_data_full (G_OBJECT (self->toast_overlay), "last-toast", g_strdup (message), g_free);
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
}

const char *
qr_window_get_last_toast (QrWindow *self)
{
  return g_object_get_data (G_OBJECT (self->toast_overlay), "last-toast");
}

gint64
qr_window_get_viewer_image (QrWindow *self)
{
  return qr_window_is_viewing (self) ? self->viewer_image_id : -1;
}

gboolean
qr_window_is_viewing (QrWindow *self)
{
  return g_str_equal (gtk_stack_get_visible_child_name (self->stack), "viewer");
}

void
qr_window_rebuild_sidebar (QrWindow *self)
{
  qr_sidebar_rebuild (self->sidebar, self->catalog, gtk_range_get_value (GTK_RANGE (self->score_scale)));
}

static void
score_changed (GtkRange *range, QrWindow *self)
{
  qr_canvas_set_score_threshold (qr_viewer_page_get_canvas (self->viewer), gtk_range_get_value (range));
  /* the gallery's badges count what the viewer shows */
  if (self->images != NULL)
    qr_image_list_set_min_score (self->images, gtk_range_get_value (range));
}

static void
heat_opacity_changed (GtkRange *range, QrWindow *self)
{
  qr_canvas_set_heatmap_opacity (qr_viewer_page_get_canvas (self->viewer), gtk_range_get_value (range));
}

/* H turns the heatmap on or off wherever it is pressed; its opacity slider shows while it is on. */
static void
heatmap_toggled (QrViewerPage *viewer, GParamSpec *pspec, QrWindow *self)
{
  gtk_widget_set_visible (GTK_WIDGET (self->heat_box), qr_viewer_page_get_heatmap_on (viewer));
}

static void
heatmap_class_changed (QrViewerPage *viewer, GParamSpec *pspec, QrWindow *self)
{
  g_autofree char *shown = NULL;

  GtkWidget *title = gtk_widget_get_first_child (GTK_WIDGET (self->heat_box));

  g_object_get (viewer, "heatmap-class", &shown, NULL);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->heat_box), shown);
  /* a phrase's map (T) says which words it shows in the header */
  if (GTK_IS_LABEL (title))
    {
      gboolean phrase = shown != NULL && g_str_has_prefix (shown, "“");
      gtk_label_set_text (GTK_LABEL (title), phrase ? shown : _("Heatmap"));
      gtk_label_set_ellipsize (GTK_LABEL (title), PANGO_ELLIPSIZE_END);
      gtk_label_set_max_width_chars (GTK_LABEL (title), 28);
      gtk_label_set_width_chars (GTK_LABEL (title), phrase ? (int) MIN (g_utf8_strlen (shown, -1), 24) : -1);
    }
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
  if (!qr_window_is_viewing (self))
    qr_window_show_gallery_or_empty (self);
}

/* The subtitle counts what the gallery shows: "12 of 18 images" under a filter or a search, the
 * unreadable ones and how many are reviewed. */
static void
update_counts (QrWindow *self)
{
  QrCatalogStats stats;
  g_autoptr (GString) subtitle = g_string_new (NULL);
  guint shown = g_list_model_get_n_items (G_LIST_MODEL (self->images));
  gint64 total;

  if (self->catalog == NULL || !qr_catalog_get_stats (self->catalog, &stats, NULL))
    return;
  total = stats.images_ok + stats.images_unreadable;
  if ((gint64) shown != total)
    g_string_printf (subtitle, _("%u of %" G_GINT64_FORMAT " images"), shown, total);
  else
    g_string_printf (subtitle, _("%" G_GINT64_FORMAT " images"), total);
  if (stats.images_unreadable > 0)
    g_string_append_printf (subtitle, _(" · %" G_GINT64_FORMAT " unreadable"), stats.images_unreadable);
  if (stats.reviewed > 0)
    g_string_append_printf (subtitle, _(" · %" G_GINT64_FORMAT " reviewed"), stats.reviewed);
  adw_window_title_set_subtitle (self->window_title, subtitle->str);
}

static void
view_selected (QrSidebar *sidebar, int view, gint64 class_id, QrWindow *self)
{
  g_autoptr (GError) error = NULL;

  if (self->catalog == NULL)
    return;
  if (!qr_image_list_set_view (self->images, view, class_id, current_sort (self), &error))
    g_warning ("%s", error->message);
  update_review_classes (self);
  if (!qr_window_is_viewing (self))
    update_counts (self);
  if (!qr_window_is_viewing (self))
    qr_window_show_gallery_or_empty (self);
}

void
qr_window_update_subtitle (QrWindow *self)
{
  g_autofree char *name = NULL;

  if (self->catalog == NULL)
    {
      adw_window_title_set_title (self->window_title, "Quorum");
      adw_window_title_set_subtitle (self->window_title, "");
      return;
    }
  name = g_path_get_basename (self->collection);
  adw_window_title_set_title (self->window_title, name);
  qr_window_rebuild_sidebar (self);
  update_counts (self);
}

void
qr_window_show_page (QrWindow *self, const char *page)
{
  gboolean viewer = g_str_equal (page, "viewer");

  gtk_stack_set_visible_child_name (self->stack, page);
  gtk_widget_set_visible (GTK_WIDGET (self->back_button), viewer);
  gtk_widget_set_visible (self->score_box, viewer);
  gtk_widget_set_visible (GTK_WIDGET (self->heat_box), viewer && qr_viewer_page_get_heatmap_on (self->viewer));
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
    gtk_widget_grab_focus (GTK_WIDGET (qr_viewer_page_get_canvas (self->viewer)));
  else if (g_str_equal (page, "gallery"))
    gtk_widget_grab_focus (qr_gallery_page_get_grid_view (self->gallery));
}

/* The empty page says what to do next: for a view with nothing in it, why, and the button for
 * the step that fills it (Detect for an empty review queue before any model ran). */
static void
set_empty_page (QrWindow *self, const char *icon, const char *title, const char *description, const char *button,
                const char *action)
{
  adw_status_page_set_icon_name (self->status_page, icon);
  adw_status_page_set_title (self->status_page, title);
  adw_status_page_set_description (self->status_page, description);
  gtk_widget_set_visible (GTK_WIDGET (self->status_button), button != NULL);
  if (button != NULL)
    {
      gtk_button_set_label (self->status_button, button);
      gtk_actionable_set_action_name (GTK_ACTIONABLE (self->status_button), action);
    }
}

void
qr_window_show_gallery_or_empty (QrWindow *self)
{
  QrCatalogStats stats;
  gboolean have_stats = self->catalog != NULL && qr_catalog_get_stats (self->catalog, &stats, NULL);

  /* Detect in the header while no model has boxes here */
  gtk_widget_set_visible (GTK_WIDGET (self->detect_button),
                          have_stats && stats.images_ok > 0 && stats.detections == 0 && !qr_window_is_busy (self));
  /* a search keeps the gallery (and its search bar) even when nothing matches: its status says so */
  if (self->catalog != NULL
      && (g_list_model_get_n_items (G_LIST_MODEL (self->images)) > 0 || qr_image_list_is_searching (self->images)))
    {
      if (!qr_window_is_viewing (self))
        qr_window_show_page (self, "gallery");
      return;
    }
  if (self->catalog == NULL)
    set_empty_page (self, "folder-pictures-symbolic", _("No Collection"), _("Open a folder of images to start"),
                    _("_Open Folder…"), "win.open-folder");
  else if (!have_stats || stats.images_ok + stats.images_unreadable == 0)
    set_empty_page (self, "folder-pictures-symbolic", _("No Images Found"),
                    qr_window_is_busy (self) ? _("Looking for images…") : _("This folder has no images Quorum reads"),
                    qr_window_is_busy (self) ? NULL : _("_Open Another Folder…"), "win.open-folder");
  else if (qr_image_list_get_view (self->images, NULL) == QR_VIEW_REVIEW && stats.detections == 0)
    set_empty_page (self, "view-list-bullet-symbolic", _("The Review Queue Is Empty"),
                    _("Detect objects to fill it: where the models disagree with each other or with the labels, the "
                      "likely mistakes come here, the likeliest first"), _("_Detect Objects"), "win.detect");
  else if (qr_image_list_get_view (self->images, NULL) == QR_VIEW_REVIEW)
    set_empty_page (self, "emblem-ok-symbolic", _("Nothing Left to Review"),
                    _("Every likely mistake has a decision. New detections or labels bring new ones: update the "
                      "queue after a run"), _("_Update Review Queue"), "win.update-review");
  else
    set_empty_page (self, "folder-pictures-symbolic", _("No Images Here"),
                    _("No image of the collection is in this view: choose another in the sidebar"), NULL, NULL);
  qr_window_show_page (self, "empty");
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
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.import", TRUE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.detect", TRUE);
  remember_collection (self, self->collection);
  qr_window_update_subtitle (self);
  qr_window_show_page (self, "gallery");
  qr_window_show_gallery_or_empty (self);
  qr_window_start_index (self);
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

GtkWidget *
qr_window_get_grid_view (QrWindow *self)
{
  return qr_gallery_page_get_grid_view (self->gallery);
}

void
qr_window_show_image_at (QrWindow *self, guint position)
{
  g_autoptr (QrImageItem) item = g_list_model_get_item (G_LIST_MODEL (self->images), position);
  g_autofree char *subtitle = NULL;

  if (item == NULL || self->disposing)
    return;
  self->viewer_position = position;
  self->viewer_image_id = qr_image_item_get_id (item);
  qr_gallery_page_select (self->gallery, position);
  qr_viewer_page_show_image (self->viewer, self->catalog, self->history, item);
  subtitle = g_strdup_printf ("%s · %d × %d", qr_image_item_get_path (item), qr_image_item_get_width (item),
                              qr_image_item_get_height (item));
  adw_window_title_set_subtitle (self->window_title, subtitle);
  qr_window_show_page (self, "viewer");
}

gboolean
qr_window_show_image_id (QrWindow *self, gint64 image_id)
{
  guint position = qr_image_list_find (self->images, image_id);

  if (position == G_MAXUINT)
    {
      /* not in the view shown: All Images holds every image */
      qr_sidebar_select_all (self->sidebar);
      position = qr_image_list_find (self->images, image_id);
    }
  if (position == G_MAXUINT)
    return FALSE;
  qr_window_show_image_at (self, position);
  return TRUE;
}

void
qr_window_toast_undo (QrWindow *self, const char *message, const char *action)
{
  AdwToast *toast = adw_toast_new (message);

  g_object_set_data_full (G_OBJECT (self->toast_overlay), "last-toast", g_strdup (message), g_free);
  adw_toast_set_button_label (toast, g_str_equal (action, "win.redo") ? _("Redo") : _("Undo"));
  adw_toast_set_action_name (toast, action);
  adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_HIGH);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static void
gallery_activated (QrGalleryPage *gallery, guint position, QrWindow *self)
{
  qr_window_show_image_at (self, position);
}

static void
gallery_search (QrGalleryPage *gallery, const char *text, const char *scorer, QrWindow *self)
{
  qr_window_search (self, text, scorer);
}

static void
gallery_search_stopped (QrGalleryPage *gallery, QrWindow *self)
{
  qr_window_stop_search (self);
}

static void
models_folder_changed (GSettings *settings, const char *key, QrWindow *self)
{
  g_autofree char *dir = g_settings_get_string (settings, "models-folder");
  qr_set_models_folder (dir);
}

static void
sort_order_changed (QrWindow *self)
{
  QrImageView view;
  gint64 class_id;

  if (qr_sidebar_get_selected (self->sidebar, &view, &class_id))
    view_selected (self->sidebar, view, class_id, self);
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
  g_clear_handle_id (&self->fold_idle, g_source_remove);
  if (self->job_cancellable != NULL)
    g_cancellable_cancel (self->job_cancellable);
  if (self->search_cancellable != NULL)
    g_cancellable_cancel (self->search_cancellable);
  /* the viewer page waits for its own workers as it goes; the job, if any, holds a reference to
     the window and has ended before this runs */
  if (self->caption_window != NULL)
    {
      GtkWindow *dialog = GTK_WINDOW (self->caption_window);
      g_object_remove_weak_pointer (G_OBJECT (dialog), (gpointer *) &self->caption_window);
      self->caption_window = NULL;
      gtk_window_destroy (dialog);
    }
  gtk_widget_dispose_template (GTK_WIDGET (self), QR_TYPE_WINDOW);
  g_clear_pointer (&self->detect_only, g_array_unref);
  g_clear_object (&self->images);
  g_clear_object (&self->history);
  g_clear_object (&self->catalog);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->review_class_ids, g_array_unref);
  g_clear_object (&self->job_cancellable);
  g_clear_object (&self->search_cancellable);
  g_clear_pointer (&self->search_text, g_free);
  g_clear_pointer (&self->search_scorer, g_free);
  g_clear_pointer (&self->job_stalls, qr_stall_monitor_free);
  G_OBJECT_CLASS (qr_window_parent_class)->dispose (object);
}

static void
qr_window_finalize (GObject *object)
{
  g_free (QR_WINDOW (object)->collection);
  g_free (QR_WINDOW (object)->next_clip_dir);
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

  g_type_ensure (QR_TYPE_GALLERY_PAGE);
  g_type_ensure (QR_TYPE_VIEWER_PAGE);
  g_type_ensure (QR_TYPE_SIDEBAR);
  g_type_ensure (QR_TYPE_LAYER_LIST);
  g_type_ensure (QR_TYPE_JOB_BAR);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/quorum/Quorum/ui/qr-window.ui");
  gtk_widget_class_bind_template_child (widget_class, QrWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, status_page);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, status_button);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, detect_button);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, gallery);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, viewer);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, sidebar);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, sidebar_flap);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, sidebar_button);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, back_button);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, score_box);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, score_scale);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, score_label);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, heat_box);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, heat_scale);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, layers_button);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, layers_box);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, review_class_dropdown);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, job_bar);
  gtk_widget_class_bind_template_child (widget_class, QrWindow, recent_section);
  gtk_widget_class_bind_template_callback (widget_class, score_changed);
  gtk_widget_class_bind_template_callback (widget_class, heat_opacity_changed);
  gtk_widget_class_bind_template_callback (widget_class, gallery_activated);
  gtk_widget_class_bind_template_callback (widget_class, gallery_search);
  gtk_widget_class_bind_template_callback (widget_class, gallery_search_stopped);
  gtk_widget_class_bind_template_callback (widget_class, view_selected);
  gtk_widget_class_bind_template_callback (widget_class, heatmap_toggled);
  gtk_widget_class_bind_template_callback (widget_class, heatmap_class_changed);
  qr_window_class_add_actions (widget_class);
}

/* A narrow window keeps its width: header words that need room go when it is under 900 px (the
 * window cannot be narrower than what its header asks for). */
static void
width_changed (QrWindow *self)
{
  int width = gtk_widget_get_width (GTK_WIDGET (self)), height;
  if (self->score_label == NULL || self->disposing)
    return;
  if (width <= 0)
    gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
  g_debug ("window width %d: the Min Score word %s", width, width >= 900 ? "shown" : "hidden");
  gtk_widget_set_visible (self->score_label, width >= 900);
  gtk_widget_set_size_request (GTK_WIDGET (self->score_scale), width >= 900 ? 160 : 100, -1);
}

/* The sidebar's button follows the fold after the frame: the flap folds while it is being
 * allocated, and a header child appearing then would change the header's size mid-frame (GTK then
 * warns "Trying to snapshot AdwHeaderBar without a current allocation"). */
static void
fold_settled (gpointer data)
{
  QrWindow *self = data;
  self->fold_idle = 0;
  gtk_widget_set_visible (self->sidebar_button, adw_flap_get_folded (self->sidebar_flap));
}

static void
fold_changed (QrWindow *self)
{
  if (self->fold_idle == 0 && !self->disposing)
    self->fold_idle = g_idle_add_once (fold_settled, self);
}

static void
qr_window_init (QrWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  g_signal_connect_swapped (self, "notify::default-width", G_CALLBACK (width_changed), self);
  g_signal_connect_swapped (self->sidebar_flap, "notify::folded", G_CALLBACK (fold_changed), self);
  fold_changed (self);
  g_signal_connect_swapped (self, "notify::maximized", G_CALLBACK (width_changed), self);
  g_signal_connect_swapped (self, "realize", G_CALLBACK (width_changed), self);

  self->images = qr_image_list_new ();
  qr_image_list_set_min_score (self->images, gtk_range_get_value (GTK_RANGE (self->score_scale)));
  qr_gallery_page_set_images (self->gallery, self->images);
  qr_layer_list_set_canvas (self->layers_box, qr_viewer_page_get_canvas (self->viewer));
  g_signal_connect (self->review_class_dropdown, "notify::selected", G_CALLBACK (review_class_selected), self);
  gtk_widget_set_name (GTK_WIDGET (self->review_class_dropdown), "review-class");

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.reindex", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.export", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.import", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.detect", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.undo", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.redo", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.cancel-job", FALSE);
  qr_window_show_page (self, "empty");
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
      qr_gallery_page_set_cell_size (self->gallery, g_settings_get_int (settings, "cell-size"));
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
  width_changed (self);
  return self;
}
