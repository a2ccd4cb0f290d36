CREATE TABLE faq_answers (
  keyword TEXT PRIMARY KEY,
  answer  TEXT NOT NULL
);
INSERT INTO faq_answers (keyword, answer) VALUES
  ('help', 'Ask me about: vpn, holidays, printer.'),
  ('vpn', 'The VPN guide is on the intranet under IT > Remote access.'),
  ('holidays', 'Holiday requests go through the HR portal, at least two weeks ahead.'),
  ('printer', 'Printer queue: \\print01\floor3. Toner is in the cupboard by the kitchen.');
