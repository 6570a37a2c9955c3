/* families.h: every detector family, one line each, in the order loading tries them (families
 * that read the same file ending are told apart by their load: CenterNet before NanoDet, the SSD
 * before BlazeFace). A family is a file in families/ that defines qr_family_NAME; adding one is
 * that file and its line here. Included twice by detector.c, with QR_FAMILY defined each time. */
QR_FAMILY (centernet)
QR_FAMILY (nanodet)
QR_FAMILY (yolo)
QR_FAMILY (ssd)
QR_FAMILY (blazeface)
QR_FAMILY (ultralytics)
