// A complete third-party module: a bot account that answers questions from a database.
// Copy this folder into one of your `module_paths`, compile it, and list `faq-bot` under `modules:`.
// (Inside the Parley repository it imports the API by relative path; from your own project, import
// the same file from your Parley installation: <parley>/dist/server/api/index.js.)
import { defineModule, handled, xml, z, Jid, type ModuleContext } from '../../../server/api/index.js';

const config = z.strictObject({
  jid: z.string().default('faq@localhost').describe('The bot account people write to'),
  fallback: z.string().default('Sorry, I do not know that one. Try "help".').describe('Answer when nothing matches'),
});

export default defineModule({
  name: 'faq-bot',
  description: 'Answers questions sent to a bot account from the faq table (an example module).',
  config,
  setup(ctx) {
    const bot = Jid.parse(ctx.config.jid);
    const answers = openAnswers(ctx);

    // The bot has no password and no session: tell the router the account exists.
    ctx.auth.addProvider({ name: 'faq-bot', exists: (local, domain) => local === bot.local && domain === bot.domain });

    ctx.hooks.on('message/bare', (event) => {
      if (event.to.bare !== bot.bare) return;                 // not for the bot: let delivery go on
      const question = event.stanza.getChildText('body');
      if (!question || event.type === 'error') return handled();
      const reply = xml('message', { type: 'chat', from: bot.bare, to: event.from.full }, xml('body', {}, answers.lookup(question) ?? ctx.config.fallback));
      void ctx.router.send(reply);                           // through the full pipeline: policy and archive see it
      return handled();
    });
  },
});

/** The bot's knowledge: rows of (keyword, answer) in its own table from schema/001_faq.sql. */
function openAnswers(ctx: ModuleContext<z.output<typeof config>>) {
  const all = ctx.storage.db.prepare('SELECT keyword, answer FROM faq_answers ORDER BY length(keyword) DESC');
  return {
    lookup(question: string): string | undefined {
      const q = question.toLowerCase();
      const rows = all.all() as { keyword: string; answer: string }[];
      return rows.find((r) => q.includes(r.keyword.toLowerCase()))?.answer;
    },
  };
}
