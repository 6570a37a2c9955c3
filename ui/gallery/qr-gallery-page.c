/* qr-gallery-page.c: see qr-gallery-page.h. Cells are recycled and hold no state of their own: a
 * bind reads the item, connects to its thumbnail and counts, and asks for its thumbnail; an unbind
 * lets go. */
#define G_LOG_DOMAIN "quorum-window"

#include "qr-gallery-page.h"

#include "qr-scorer.h"

#include <glib/gi18n.h>
#include <math.h>

struct _QrGalleryPage
{
  GtkWidget          parent_instance;

  /* Template widgets */
  GtkGridView       *grid_view;
  GtkSearchBar      *search_bar;
  GtkSearchEntry    *search_entry;
  GtkDropDown       *scorer_dropdown;
  GtkLabel          *search_status;

  /* Owned references */
  GtkMultiSelection *selection;   /* Ctrl/Shift-click and rubberband; Detect runs over it */

  int                cell_size;
};

G_DEFINE_FINAL_TYPE (QrGalleryPage, qr_gallery_page, GTK_TYPE_WIDGET)

static guint activate_signal, search_signal, search_stopped_signal;

/* The tooltip is made when it is asked for: setting a tooltip text on every bind cost about 4 ms
 * a cell (measured by `quorum bench gallery`: a jump that rebinds a screen of cells took 170 ms
 * with it, 33 ms without). */
static gboolean
cell_query_tooltip (GtkWidget *box, int x, int y, gboolean keyboard, GtkTooltip *tooltip, GtkListItem *list_item)
{
  QrImageItem *item = gtk_list_item_get_item (list_item);
  g_autofree char *text = NULL;

  if (item == NULL)
    return FALSE;
  if (qr_image_item_get_state (item) == QR_IMAGE_STATE_UNREADABLE)
    text = g_strdup_printf (_("%s\nUnreadable: %s"), qr_image_item_get_path (item), qr_image_item_get_reason (item));
  else
    text = g_strdup_printf (_("%s\n%d × %d · %" G_GINT64_FORMAT " labels · %" G_GINT64_FORMAT " model boxes"),
                            qr_image_item_get_path (item), qr_image_item_get_width (item),
                            qr_image_item_get_height (item), qr_image_item_get_n_labels (item),
                            qr_image_item_get_n_detections (item));
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
cell_setup (GtkSignalListItemFactory *factory, GtkListItem *list_item, QrGalleryPage *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  GtkWidget *picture = gtk_picture_new ();
  GtkWidget *label = gtk_label_new (NULL);
  GtkWidget *overlay = gtk_overlay_new ();
  GtkWidget *badge = gtk_label_new (NULL);
  int size = self->cell_size;

  gtk_widget_add_css_class (box, "gallery-cell");
  gtk_widget_set_size_request (picture, size - 16, size - 40);
  gtk_picture_set_can_shrink (GTK_PICTURE (picture), TRUE);
  gtk_picture_set_content_fit (GTK_PICTURE (picture), GTK_CONTENT_FIT_CONTAIN);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_MIDDLE);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 18);
  gtk_widget_add_css_class (label, "caption");
  /* Badges: labels and model boxes, or that the file is unreadable. */
  gtk_widget_add_css_class (badge, "badge");
  gtk_widget_set_halign (badge, GTK_ALIGN_END);
  gtk_widget_set_valign (badge, GTK_ALIGN_START);
  gtk_widget_set_margin_top (badge, 4);
  gtk_widget_set_margin_end (badge, 4);
  gtk_overlay_set_child (GTK_OVERLAY (overlay), picture);
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), badge);
  gtk_box_append (GTK_BOX (box), overlay);
  gtk_box_append (GTK_BOX (box), label);
  gtk_widget_set_has_tooltip (box, TRUE);
  g_signal_connect (box, "query-tooltip", G_CALLBACK (cell_query_tooltip), list_item);
  gtk_list_item_set_child (list_item, box);
}

static void
cell_thumbnail_changed (QrImageItem *item, GParamSpec *pspec, GtkPicture *picture)
{
  gtk_picture_set_paintable (picture, GDK_PAINTABLE (qr_image_item_get_thumbnail (item)));
}

static void
update_badge (QrImageItem *item, GParamSpec *pspec, GtkWidget *badge)
{
  g_autofree char *text = NULL;

  if (qr_image_item_get_state (item) == QR_IMAGE_STATE_UNREADABLE)
    text = g_strdup ("⚠");
  else
    {
      /* ▢ human labels, ⬚ model boxes; a zero count is left out. */
      gint64 labels = qr_image_item_get_n_labels (item);
      gint64 detections = qr_image_item_get_n_detections (item);

      double mistake = qr_image_item_get_mistake_score (item);
      g_autofree char *counts = NULL;

      if (labels > 0 && detections > 0)
        counts = g_strdup_printf ("%" G_GINT64_FORMAT " ▢  %" G_GINT64_FORMAT " ⬚", labels, detections);
      else if (labels > 0)
        counts = g_strdup_printf ("%" G_GINT64_FORMAT " ▢", labels);
      else if (detections > 0)
        counts = g_strdup_printf ("%" G_GINT64_FORMAT " ⬚", detections);
      double search = qr_image_item_get_search_score (item);
      /* ≈ and the score: the search's; ! and the score: a likely mistake waits in the review queue */
      if (!isnan (search))
        text = g_strdup_printf ("≈ %.2f%s%s", MAX (search, 0.0), counts ? "  " : "", counts ? counts : "");
      else if (mistake >= 0)
        text = g_strdup_printf ("! %.2f%s%s", mistake, counts ? "  " : "", counts ? counts : "");
      else
        text = g_steal_pointer (&counts);
      /* ✓: marked reviewed (by the user, or its last review item decided) */
      if (qr_image_item_get_reviewed (item))
        {
          char *marked = g_strdup_printf ("✓%s%s", text ? "  " : "", text ? text : "");
          g_free (text);
          text = marked;
        }
    }
  gtk_label_set_text (GTK_LABEL (badge), text ? text : "");
  gtk_widget_set_visible (badge, text != NULL);
  if (qr_image_item_get_state (item) != QR_IMAGE_STATE_UNREADABLE && qr_image_item_get_mistake_score (item) >= 0)
    gtk_widget_add_css_class (badge, "mistake");
  else
    gtk_widget_remove_css_class (badge, "mistake");
}

static void
cell_bind (GtkSignalListItemFactory *factory, GtkListItem *list_item, QrGalleryPage *self)
{
  QrImageItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *box = gtk_list_item_get_child (list_item);
  GtkWidget *overlay = gtk_widget_get_first_child (box);
  GtkWidget *picture = gtk_overlay_get_child (GTK_OVERLAY (overlay));
  GtkWidget *badge = gtk_widget_get_last_child (overlay);
  GtkWidget *label = gtk_widget_get_last_child (box);
  gulong handler;

  update_badge (item, NULL, badge);

  gtk_label_set_text (GTK_LABEL (label), qr_image_item_get_name (item));
  gtk_picture_set_paintable (GTK_PICTURE (picture), GDK_PAINTABLE (qr_image_item_get_thumbnail (item)));
  if (qr_image_item_get_state (item) == QR_IMAGE_STATE_UNREADABLE)
    gtk_widget_add_css_class (box, "unreadable");
  else
    gtk_widget_remove_css_class (box, "unreadable");
  handler = g_signal_connect_object (item, "notify::thumbnail", G_CALLBACK (cell_thumbnail_changed), picture, 0);
  g_object_set_data (G_OBJECT (list_item), "thumbnail-handler", GUINT_TO_POINTER (handler));
  handler = g_signal_connect_object (item, "notify::n-labels", G_CALLBACK (update_badge), badge, 0);
  g_object_set_data (G_OBJECT (list_item), "badge-handler", GUINT_TO_POINTER (handler));
  qr_image_item_request_thumbnail (item);
}

static void
cell_unbind (GtkSignalListItemFactory *factory, GtkListItem *list_item, QrGalleryPage *self)
{
  QrImageItem *item = gtk_list_item_get_item (list_item);
  gulong handler = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (list_item), "thumbnail-handler"));

  if (handler != 0)
    g_signal_handler_disconnect (item, handler);
  g_object_set_data (G_OBJECT (list_item), "thumbnail-handler", NULL);
  handler = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (list_item), "badge-handler"));
  if (handler != 0)
    g_signal_handler_disconnect (item, handler);
  g_object_set_data (G_OBJECT (list_item), "badge-handler", NULL);
}

void
qr_gallery_page_set_images (QrGalleryPage *self, QrImageList *images)
{
  g_return_if_fail (self->selection == NULL);
  self->selection = gtk_multi_selection_new (g_object_ref (G_LIST_MODEL (images)));
  gtk_grid_view_set_model (self->grid_view, GTK_SELECTION_MODEL (self->selection));
}

void
qr_gallery_page_set_cell_size (QrGalleryPage *self, int size)
{
  self->cell_size = size;
}

GtkWidget *
qr_gallery_page_get_grid_view (QrGalleryPage *self)
{
  return GTK_WIDGET (self->grid_view);
}

void
qr_gallery_page_select (QrGalleryPage *self, guint position)
{
  gtk_selection_model_select_item (GTK_SELECTION_MODEL (self->selection), position, TRUE);
}

void
qr_gallery_page_scroll_to (QrGalleryPage *self, guint position)
{
  gtk_widget_activate_action (GTK_WIDGET (self->grid_view), "list.scroll-to-item", "u", position);
}

GArray *
qr_gallery_page_get_selected_ids (QrGalleryPage *self)
{
  g_autoptr (GtkBitset) selected = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->selection));
  guint64 n = gtk_bitset_get_size (selected);
  GtkBitsetIter iter;
  guint position;
  GArray *ids;

  if (n <= 1)
    return NULL;
  ids = g_array_sized_new (FALSE, FALSE, sizeof (gint64), (guint) n);
  for (gboolean ok = gtk_bitset_iter_init_first (&iter, selected, &position); ok;
       ok = gtk_bitset_iter_next (&iter, &position))
    {
      g_autoptr (QrImageItem) item = g_list_model_get_item (G_LIST_MODEL (self->selection), position);
      gint64 id = item ? qr_image_item_get_id (item) : -1;
      if (id > 0)
        g_array_append_val (ids, id);
    }
  return ids;
}

static void
grid_activated (GtkGridView *view, guint position, QrGalleryPage *self)
{
  g_signal_emit (self, activate_signal, 0, position);
}

/* The scorer drop-down's button shows its choice ellipsized (a narrow window stays narrow); the
 * list shows the titles whole. */
static void
title_setup (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer ellipsize)
{
  GtkWidget *label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  if (ellipsize != NULL)
    {
      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
      gtk_label_set_width_chars (GTK_LABEL (label), 6);
      gtk_label_set_max_width_chars (GTK_LABEL (label), 26);
    }
  gtk_list_item_set_child (item, label);
}

static void
title_bind (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  gtk_label_set_text (GTK_LABEL (gtk_list_item_get_child (item)),
                      gtk_string_object_get_string (gtk_list_item_get_item (item)));
}

static GtkListItemFactory *
title_factory (gboolean ellipsize)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (title_setup), ellipsize ? GINT_TO_POINTER (1) : NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (title_bind), NULL);
  return factory;
}

static const char *
selected_scorer (QrGalleryPage *self)
{
  const char *const *names = qr_scorer_list_names ();
  guint n = g_strv_length ((char **) names), at = gtk_drop_down_get_selected (self->scorer_dropdown);
  /* after the scorers: the two plain filters */
  return at < n ? names[at] : at == n ? "file-name" : at == n + 1 ? "class" : names[0];
}

static void
search_activated (QrGalleryPage *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->search_entry));
  g_signal_emit (self, search_signal, 0, text, selected_scorer (self));
}

static void
search_stopped (QrGalleryPage *self)
{
  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), "");
  gtk_label_set_text (self->search_status, "");
  gtk_search_bar_set_search_mode (self->search_bar, FALSE);
  g_signal_emit (self, search_stopped_signal, 0);
}

void
qr_gallery_page_start_search (QrGalleryPage *self)
{
  gtk_search_bar_set_search_mode (self->search_bar, TRUE);
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

void
qr_gallery_page_search (QrGalleryPage *self, const char *text)
{
  qr_gallery_page_start_search (self);
  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), text);
  search_activated (self);
}

void
qr_gallery_page_set_search_status (QrGalleryPage *self, const char *status)
{
  gtk_label_set_text (self->search_status, status ? status : "");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->search_status), status);
}

static void
qr_gallery_page_dispose (GObject *object)
{
  QrGalleryPage *self = QR_GALLERY_PAGE (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), QR_TYPE_GALLERY_PAGE);
  /* the template's top child has no id: it goes with the widget */
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);
  g_clear_object (&self->selection);
  G_OBJECT_CLASS (qr_gallery_page_parent_class)->dispose (object);
}

static void
qr_gallery_page_class_init (QrGalleryPageClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = qr_gallery_page_dispose;
  activate_signal = g_signal_new ("activate", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                  G_TYPE_NONE, 1, G_TYPE_UINT);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/quorum/Quorum/ui/qr-gallery-page.ui");
  search_signal = g_signal_new ("search", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  search_stopped_signal = g_signal_new ("search-stopped", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                        NULL, G_TYPE_NONE, 0);
  gtk_widget_class_bind_template_child (widget_class, QrGalleryPage, grid_view);
  gtk_widget_class_bind_template_child (widget_class, QrGalleryPage, search_bar);
  gtk_widget_class_bind_template_child (widget_class, QrGalleryPage, search_entry);
  gtk_widget_class_bind_template_child (widget_class, QrGalleryPage, scorer_dropdown);
  gtk_widget_class_bind_template_child (widget_class, QrGalleryPage, search_status);
  gtk_widget_class_bind_template_callback (widget_class, grid_activated);
  gtk_widget_class_bind_template_callback (widget_class, search_activated);
  gtk_widget_class_bind_template_callback (widget_class, search_stopped);
}

static void
qr_gallery_page_init (QrGalleryPage *self)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();

  gtk_widget_init_template (GTK_WIDGET (self));
  self->cell_size = 176;
  gtk_grid_view_set_enable_rubberband (self->grid_view, TRUE);
  g_signal_connect (factory, "setup", G_CALLBACK (cell_setup), self);
  g_signal_connect (factory, "bind", G_CALLBACK (cell_bind), self);
  g_signal_connect (factory, "unbind", G_CALLBACK (cell_unbind), self);
  gtk_grid_view_set_factory (self->grid_view, factory);
  g_object_unref (factory);
  gtk_search_bar_connect_entry (self->search_bar, GTK_EDITABLE (self->search_entry));
  {
    g_autoptr (GtkStringList) titles = gtk_string_list_new (NULL);
    for (const char *const *name = qr_scorer_list_names (); *name != NULL; name++)
      gtk_string_list_append (titles, g_str_equal (*name, "zeroshot") ? _("Zero-Shot (Detections)")
                                      : g_str_equal (*name, "plain") ? _("Class Names")
                                      : g_str_equal (*name, "dmsm") ? _("Caption Model")
                                      : g_str_equal (*name, "blend") ? _("Caption Model + Detections")
                                      : g_str_equal (*name, "clip") ? _("CLIP") : *name);
    gtk_string_list_append (titles, _("File Name"));
    gtk_string_list_append (titles, _("Class"));
    g_autoptr (GtkListItemFactory) button = title_factory (TRUE);
    g_autoptr (GtkListItemFactory) list = title_factory (FALSE);
    gtk_drop_down_set_factory (self->scorer_dropdown, button);
    gtk_drop_down_set_list_factory (self->scorer_dropdown, list);
    gtk_drop_down_set_model (self->scorer_dropdown, G_LIST_MODEL (titles));
    gtk_widget_set_visible (GTK_WIDGET (self->scorer_dropdown), TRUE);
  }
}
