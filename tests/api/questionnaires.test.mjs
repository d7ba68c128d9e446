// Questionnaires (progressive profiling) as a marketer and a customer see them: a questionnaire with
// the five sections the product knows, definitions refused with the field to blame, who may manage
// them, a signed link opened and answered without an account in two goes (the answers update the
// profile, a bad answer changes nothing), completion rates, tampered links, and the audit trail.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { drivers, startServer, api, show, tamper, routes as readRoutes } from './harness.mjs';

const Q = '/api/v1/questionnaires';
const PUBLIC = '/api/v1/public/questionnaires';

// The five sections: coordonnées, anniversaires, famille, appétences, abonnement.
const DEFINITION = {
  slug: 'profil-2025',
  title: 'Complétez votre profil',
  intro: 'Deux minutes pour recevoir des offres qui vous ressemblent.',
  sections: [
    {
      key: 'coordonnees',
      title: 'Vos coordonnées',
      questions: [
        { key: 'telephone', label: 'Votre numéro de mobile', type: 'text', target: 'phone' },
        { key: 'ville', label: 'Votre ville', type: 'text', target: 'city' },
      ],
    },
    {
      key: 'anniversaires',
      title: 'Anniversaires',
      questions: [{ key: 'naissance', label: 'Votre date de naissance', type: 'date', target: 'birth_date', required: true }],
    },
    {
      key: 'famille',
      title: 'Votre famille',
      questions: [{ key: 'enfants', label: 'Vos enfants', type: 'children', target: 'children' }],
    },
    {
      key: 'appetences',
      title: 'Vos envies',
      questions: [{
        key: 'rayons', label: 'Quels rayons vous intéressent ?', type: 'multi_choice', target: 'affinities',
        choices: ['jardin', 'cuisine', 'bricolage'],
      }],
    },
    {
      key: 'abonnement',
      title: "Gestion de l'abonnement",
      questions: [{
        key: 'newsletter', label: "Recevoir notre lettre d'information", type: 'boolean',
        target: 'consent:email:newsletter', required: true,
      }],
    },
  ],
};
const SECTION_KEYS = DEFINITION.sections.map((s) => s.key);
const ALL_KEYS = DEFINITION.sections.flatMap((s) => s.questions.map((q) => q.key)).sort();

// A copy of DEFINITION with another slug and its first question replaced by `question`.
function withQuestion(slug, question, extra = {}) {
  const d = structuredClone(DEFINITION);
  d.slug = slug;
  d.sections[0].questions[0] = { ...d.sections[0].questions[0], ...question };
  return { ...d, ...extra };
}

for (const driver of drivers()) {
  describe(driver, () => {
    let server;
    before(async () => {
      server = await startServer(driver);
    });
    after(async () => {
      await server?.stop();
    });

    const call = (method, path, opts = {}) => api(server, method, path, { role: 'marketer', ...opts });
    // The customer's side: never any credentials.
    const pub = (method, token, opts = {}) => api(server, method, `${PUBLIC}/${token}`, opts);
    const expectProblem = (r, status, field) => {
      assert.equal(r.status, status, show(r));
      assert.match(r.headers.get('content-type') || '', /application\/problem\+json/);
      assert.equal(r.body.status, status);
      assert.equal(typeof r.body.code, 'string');
      assert.equal(typeof r.body.request_id, 'string');
      if (field !== undefined) assert.equal(r.body.field, field, show(r));
    };
    const newCustomer = async (body) => {
      const r = await call('POST', '/api/v1/customers', { body });
      assert.equal(r.status, 201, show(r));
      return r.body;
    };
    const getCustomer = async (id) => {
      const r = await call('GET', `/api/v1/customers/${id}`);
      assert.equal(r.status, 200, show(r));
      return r.body;
    };
    const issueLink = async (qid, customerId, extra = {}) => {
      const r = await call('POST', `${Q}/${qid}/links`, { body: { customer_id: customerId, ...extra } });
      assert.equal(r.status, 201, show(r));
      return r.body;
    };
    const define = async (body) => {
      const r = await call('POST', Q, { body });
      assert.equal(r.status, 201, show(r));
      return r.body;
    };

    // Shared by the tests of the customer's journey below, which run in order.
    let questionnaire;
    let customer;
    let token;

    test('a marketer defines a questionnaire with the five sections', async () => {
      const r = await call('POST', Q, { body: DEFINITION });
      assert.equal(r.status, 201, show(r));
      questionnaire = r.body;
      assert.equal(r.headers.get('location'), `${Q}/${questionnaire.id}`);
      assert.equal(questionnaire.slug, 'profil-2025');
      assert.equal(questionnaire.title, 'Complétez votre profil');
      assert.equal(questionnaire.intro, DEFINITION.intro);
      assert.match(questionnaire.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      assert.deepEqual(questionnaire.sections.map((s) => s.key), SECTION_KEYS);
      assert.equal(questionnaire.sections[4].title, "Gestion de l'abonnement");
      const byKey = Object.fromEntries(questionnaire.sections.flatMap((s) => s.questions).map((q) => [q.key, q]));
      assert.deepEqual(byKey.naissance, {
        key: 'naissance', label: 'Votre date de naissance', type: 'date', target: 'birth_date', choices: [], required: true,
      });
      assert.deepEqual(byKey.rayons.choices, ['jardin', 'cuisine', 'bricolage']);
      assert.equal(byKey.rayons.type, 'multi_choice');
      assert.equal(byKey.telephone.required, false);
      assert.equal(byKey.newsletter.target, 'consent:email:newsletter');

      const one = await call('GET', `${Q}/${questionnaire.id}`);
      assert.equal(one.status, 200, show(one));
      assert.deepEqual(one.body, questionnaire);
      const admin = await call('GET', Q, { role: 'admin' });
      assert.equal(admin.status, 200, show(admin));
      assert.deepEqual(admin.body.items.find((x) => x.id === questionnaire.id), questionnaire);
      expectProblem(await call('GET', `${Q}/999999`), 404, 'id');
      expectProblem(await call('GET', `${Q}/abc`), 400, 'id');
    });

    test('bad definitions give 400 naming the field; a slug in use gives 409', async () => {
      const before = (await call('GET', Q)).body.items.length;
      const cases = [
        [withQuestion('q-target', { target: 'pointure' }), 'sections[0].questions[0].target'],
        [withQuestion('q-mismatch', { type: 'text', target: 'birth_date' }), 'sections[0].questions[0].target'],
        [withQuestion('q-mismatch2', { type: 'boolean', target: 'affinities' }), 'sections[0].questions[0].target'],
        [withQuestion('q-consent', { type: 'boolean', target: 'consent:pigeon:newsletter' }), 'sections[0].questions[0].target'],
        [withQuestion('q-custom', { type: 'text', target: 'custom_fields.pointure' }), 'sections[0].questions[0].target'],
        [withQuestion('q-type', { type: 'slider' }), 'sections[0].questions[0].type'],
        [withQuestion('q-nochoices', { type: 'multi_choice', target: 'affinities' }), 'sections[0].questions[0].choices'],
        [withQuestion('q-choices', { choices: ['a', 'b'] }), 'sections[0].questions[0].choices'],
        // Answers match choices case and accents aside: "a" and "A" are one choice; an empty one is none.
        [withQuestion('q-dupchoice', { type: 'multi_choice', target: 'affinities', choices: ['a', 'A'] }), 'sections[0].questions[0].choices[1]'],
        [withQuestion('q-emptychoice', { type: 'multi_choice', target: 'affinities', choices: ['jardin', ''] }), 'sections[0].questions[0].choices[1]'],
        [withQuestion('q-accentchoice', { type: 'choice', target: 'civility', choices: ['Mme', 'M.', 'MME'] }), 'sections[0].questions[0].choices[2]'],
        [withQuestion('q-dupkey', { key: 'ville' }), 'sections[0].questions[1].key'],
        [withQuestion('q-badkey', { key: 'Téléphone' }), 'sections[0].questions[0].key'],
        [withQuestion('q-nolabel', { label: '' }), 'sections[0].questions[0].label'],
        [withQuestion('q-unknown', { placeholder: '06…' }), 'sections[0].questions[0].placeholder'],
        [withQuestion('Profil 2025', {}), 'slug'],
        [withQuestion('q-notitle', {}, { title: '  ' }), 'title'],
        [withQuestion('q-nosections', {}, { sections: [] }), 'sections'],
        [withQuestion('q-unknown-top', {}, { theme: 'printemps' }), 'theme'],
      ];
      for (const [body, field] of cases) {
        const r = await call('POST', Q, { body });
        expectProblem(r, 400, field);
      }
      const dup = await call('POST', Q, { body: { ...DEFINITION, title: 'Autre titre' } });
      expectProblem(dup, 409, 'slug');
      assert.equal(dup.body.code, 'already_exists');
      assert.equal((await call('GET', Q)).body.items.length, before, 'a refused definition is not stored');
    });

    test('a question its target could never answer is refused when defined', async () => {
      for (const def of [
        { key: 'nb_chiens', label: 'Chiens', type: 'integer' },
        { key: 'taille', label: 'Taille', type: 'choice', choices: ['S', 'M', 'L'] },
      ]) {
        const r = await call('POST', '/api/v1/custom-fields', { role: 'admin', body: def });
        assert.equal(r.status, 201, show(r));
      }
      const target = 'sections[0].questions[0].target';
      const bool = await call('POST', Q, { body: withQuestion('q-bool-int', { type: 'boolean', target: 'custom_fields.nb_chiens' }) });
      expectProblem(bool, 400, target);
      assert.match(bool.body.detail, /boolean question needs a boolean target/);
      const civility = await call('POST', Q, {
        body: withQuestion('q-civility', { type: 'choice', target: 'civility', choices: ['Mme', 'Monseigneur'] }),
      });
      expectProblem(civility, 400, 'sections[0].questions[0].choices[1]');
      assert.match(civility.body.detail, /'Monseigneur'/);
      const multi = await call('POST', Q, {
        body: withQuestion('q-multi-one', { type: 'multi_choice', target: 'custom_fields.taille', choices: ['S', 'M'] }),
      });
      expectProblem(multi, 400, target);
      // What fits is still accepted, and answered.
      await define(withQuestion('q-text-int', { type: 'text', target: 'custom_fields.nb_chiens' }));
      const taille = await define(withQuestion('q-choice-one', { type: 'choice', target: 'custom_fields.taille', choices: ['S', 'M'] }));
      const c = await newCustomer({ last_name: 'Fabre', emails: ['fabre@example.fr'] });
      const { token: t } = await issueLink(taille.id, c.id);
      const r = await pub('POST', t, { body: { answers: { telephone: 'm' } } });
      assert.equal(r.status, 200, show(r));
      assert.equal((await getCustomer(c.id)).custom_fields.taille, 'M');
    });

    test('length limits count characters, not bytes', async () => {
      const e = (n) => 'é'.repeat(n);  // two bytes each in UTF-8
      const longest = withQuestion('q-longest', { label: e(500) }, { title: e(200), intro: e(2000) });
      longest.sections[0].title = e(200);
      const r = await call('POST', Q, { body: longest });
      assert.equal(r.status, 201, show(r));
      assert.equal(r.body.title, e(200));
      const tooLong = [
        [withQuestion('q-long-title', {}, { title: e(201) }), 'title'],
        [withQuestion('q-long-intro', {}, { intro: e(2001) }), 'intro'],
        [withQuestion('q-long-label', { label: e(501) }), 'sections[0].questions[0].label'],
      ];
      const section = withQuestion('q-long-section', {});
      section.sections[1].title = e(201);
      tooLong.push([section, 'sections[1].title']);
      const choice = withQuestion('q-long-choice', { type: 'choice', target: 'civility', choices: ['Mme', e(201)] });
      tooLong.push([choice, 'sections[0].questions[0].choices[1]']);
      for (const [body, field] of tooLong) expectProblem(await call('POST', Q, { body }), 400, field);
      const title = await call('POST', Q, { body: withQuestion('q-long-title', {}, { title: e(201) }) });
      assert.equal(title.body.detail, 'must be 1 to 200 characters');
    });

    test('agents, sales and viewers may not manage questionnaires; anonymous callers get 401', async () => {
      for (const role of ['agent', 'sales', 'viewer']) {
        expectProblem(await call('POST', Q, { role, body: withQuestion(`q-${role}`, {}) }), 403);
        expectProblem(await call('GET', Q, { role }), 403);
        expectProblem(await call('GET', `${Q}/${questionnaire.id}`, { role }), 403);
        expectProblem(await call('POST', `${Q}/${questionnaire.id}/links`, { role, body: { customer_id: 1 } }), 403);
        expectProblem(await call('GET', `${Q}/${questionnaire.id}/completion`, { role }), 403);
      }
      const anon = await api(server, 'GET', Q);
      expectProblem(anon, 401);
    });

    test('a link is issued for a customer; bad link requests are refused', async () => {
      customer = await newCustomer({
        first_name: 'Élodie',
        last_name: 'Martin',
        emails: ['elodie.martin@example.fr'],
        address: { street: '12 rue de la République', postcode: '69002', city: 'Lyon' },
        household: [{ relation: 'conjoint', first_name: 'Marc' }],
        affinities: [{ category: 'mode', strength: 40 }],
      });
      const link = await issueLink(questionnaire.id, customer.id, { ttl_days: 7 });
      token = link.token;
      assert.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
      assert.equal(link.path, `${PUBLIC}/${token}`);
      const days = (Date.parse(link.expires_at) - Date.now()) / 86_400_000;
      assert.ok(days > 6.9 && days < 7.1, `expires in ${days} days`);

      expectProblem(await call('POST', `${Q}/${questionnaire.id}/links`, { body: {} }), 400, 'customer_id');
      expectProblem(await call('POST', `${Q}/${questionnaire.id}/links`, { body: { customer_id: 'un' } }), 400, 'customer_id');
      expectProblem(await call('POST', `${Q}/${questionnaire.id}/links`, { body: { customer_id: customer.id, ttl_days: 0 } }), 400, 'ttl_days');
      expectProblem(await call('POST', `${Q}/${questionnaire.id}/links`, { body: { customer_id: customer.id, ttl_days: 400 } }), 400, 'ttl_days');
      expectProblem(await call('POST', `${Q}/${questionnaire.id}/links`, { body: { customer_id: customer.id, canal: 'sms' } }), 400, 'canal');
      expectProblem(await call('POST', `${Q}/${questionnaire.id}/links`, { body: { customer_id: 999999 } }), 404);
      expectProblem(await call('POST', `${Q}/999999/links`, { body: { customer_id: customer.id } }), 404, 'id');
    });

    test('the public link opens without credentials, shows current values and hides the targets', async () => {
      const r = await pub('GET', token);
      assert.equal(r.status, 200, show(r));
      assert.equal(r.headers.get('cache-control'), 'no-store');
      assert.equal(r.body.id, questionnaire.id);
      assert.equal(r.body.title, 'Complétez votre profil');
      assert.deepEqual(r.body.sections.map((s) => s.key), SECTION_KEYS);
      for (const s of r.body.sections)
        for (const q of s.questions) assert.ok(!('target' in q), `question ${q.key} reveals its target`);
      assert.ok(!r.text.includes('consent:email:newsletter'), 'no target anywhere in the form');
      assert.ok(!r.text.includes('birth_date'), 'no target anywhere in the form');
      assert.ok(!('created_at' in r.body));
      assert.equal(r.body.current.ville, 'Lyon');
      assert.equal(r.body.current.naissance, '');
      assert.equal(r.body.current.telephone, '');
      assert.equal(r.body.current.newsletter, '');
      assert.deepEqual(Object.keys(r.body.current).sort(), ALL_KEYS);
      assert.deepEqual(r.body.answered, []);
      assert.match(r.body.expires_at, /^\d{4}-\d\d-\d\dT/);
    });

    test('a partial answer updates the profile', async () => {
      // The browser browsed the shop before (Fidelis's visitor cookie): its visits join the profile.
      const seen = await api(server, 'POST', '/api/v1/tracking/events', { role: 'marketer', body: { events: [
        { visitor_id: 'q-visitor-1', type: 'page_view', url: 'https://shop.fr/jardin', referrer: 'https://www.google.fr/' }] } });
      assert.equal(seen.status, 200, show(seen));
      const r = await pub('POST', token, { body: { answers: { telephone: '06 12 34 56 87', naissance: '14/02/1988' } },
                                           headers: { Cookie: 'fid_vid=q-visitor-1' } });
      assert.equal(r.status, 200, show(r));
      assert.equal(r.headers.get('cache-control'), 'no-store');
      assert.deepEqual(r.body.answered, ['naissance', 'telephone']);
      assert.equal(r.body.current.naissance, '1988-02-14');
      const c = await getCustomer(customer.id);
      assert.equal(c.birth_date, '1988-02-14');
      assert.equal(c.phones.length, 1, JSON.stringify(c.phones));
      assert.equal(c.phones[0].e164, '+33612345687');
      assert.equal(c.phones[0].type, 'mobile');
      assert.equal(c.address.city, 'Lyon', 'unanswered questions change nothing');
      assert.equal(c.version, customer.version + 1);
      customer = c;
      const web = await call('GET', `/api/v1/customers/${c.id}/web-counters`);
      assert.equal(web.status, 200, show(web));
      assert.equal(web.body.visits, 1, show(web));
      assert.equal(web.body.page_views, 1);

      const stats = await call('GET', `${Q}/${questionnaire.id}/completion`);
      assert.equal(stats.status, 200, show(stats));
      assert.equal(stats.body.links_issued, 1);
      assert.equal(stats.body.started, 1);
      assert.equal(stats.body.completed, 0, 'the required newsletter question is not answered yet');
      assert.equal(stats.body.completion_rate, 0);
      const section = Object.fromEntries(stats.body.sections.map((s) => [s.section, s]));
      assert.deepEqual(section.coordonnees, { section: 'coordonnees', completed: 1, rate: 1 });
      assert.deepEqual(section.anniversaires, { section: 'anniversaires', completed: 1, rate: 1 });
      assert.deepEqual(section.abonnement, { section: 'abonnement', completed: 0, rate: 0 });
    });

    test('a bad answer names answers.<key> and changes nothing', async () => {
      const cases = [
        [{ ville: 'Paris', naissance: '31/02/1988' }, 'answers.naissance'],
        [{ ville: 'Paris', pointure: '38' }, 'answers.pointure'],
        [{ ville: 'Paris', newsletter: 'oui' }, 'answers.newsletter'],
        [{ ville: 'Paris', rayons: ['jardin', 'piscine'] }, 'answers.rayons'],
        [{ ville: 'Paris', enfants: [{ first_name: 'Tom', birth_date: '01/01/2090' }] }, 'answers.enfants[0].birth_date'],
        [{ ville: 'Paris', ville2: 12 }, 'answers.ville2'],
        [{ ville: 'Paris', telephone: '   ' }, 'answers.telephone'],
        // A child is someone: a first name or a birth date.
        [{ ville: 'Paris', enfants: [{}] }, 'answers.enfants[0]'],
        [{ ville: 'Paris', enfants: [{ first_name: 'Tom' }, { first_name: ' ', birth_date: null }] }, 'answers.enfants[1]'],
        [{ ville: 'Paris', enfants: [{ first_name: 'Tom\nJo' }] }, 'answers.enfants[0].first_name'],
        // No control characters in text: NUL, line breaks, tabs, C1.
        [{ ville: 'Pa\u0000ris' }, 'answers.ville'],
        [{ ville: 'Paris\nLyon' }, 'answers.ville'],
        [{ ville: 'Paris\t' }, 'answers.ville'],
        [{ ville: 'Paris\u0085' }, 'answers.ville'],
      ];
      for (const [answers, field] of cases) expectProblem(await pub('POST', token, { body: { answers } }), 400, field);
      // Several wrong answers: each is named, so the form can show them all.
      const several = await pub('POST', token, { body: { answers: { naissance: 'hier', telephone: '0612', ville: 'Paris' } } });
      expectProblem(several, 400, 'answers.naissance');
      assert.deepEqual(several.body.errors.map((e) => e.field), ['answers.naissance', 'answers.telephone']);
      // Values of the wrong type, children included, are each listed at their place too.
      const types = await pub('POST', token, { body: { answers: { enfants: [{ first_name: 5 }, 'Léa', { prenom: 'x' }], newsletter: 1 } } });
      expectProblem(types, 400, 'answers.enfants[0].first_name');
      assert.deepEqual(types.body.errors.map((e) => e.field),
        ['answers.enfants[0].first_name', 'answers.enfants[1]', 'answers.enfants[2].prenom', 'answers.newsletter']);
      expectProblem(await pub('POST', token, { body: { answers: {} } }), 400, 'answers');
      expectProblem(await pub('POST', token, { body: { reponses: { ville: 'Paris' } } }), 400, 'reponses');
      const c = await getCustomer(customer.id);
      assert.equal(c.version, customer.version, 'nothing was applied');
      assert.equal(c.address.city, 'Lyon');
      assert.equal(c.birth_date, '1988-02-14');
      const form = await pub('GET', token);
      assert.deepEqual(form.body.answered, ['naissance', 'telephone']);
    });

    test('the rest of the answers completes the profile', async () => {
      const r = await pub('POST', token, {
        body: {
          answers: {
            ville: 'Villeurbanne',
            enfants: [{ first_name: 'Lucas', birth_date: '01/06/2015' }, { first_name: 'Chloé', birth_date: '2018-09-23' }],
            rayons: ['jardin', 'cuisine'],
            newsletter: true,
          },
        },
      });
      assert.equal(r.status, 200, show(r));
      assert.deepEqual(r.body.answered, ALL_KEYS);
      assert.equal(r.body.current.newsletter, 'true');
      assert.equal(r.body.current.ville, 'Villeurbanne');

      const c = await getCustomer(customer.id);
      assert.equal(c.address.city, 'Villeurbanne');
      assert.equal(c.address.postcode, '69002', 'the rest of the address is kept');
      assert.equal(c.address.street, '12 rue de la République');
      const kids = c.household.filter((m) => m.relation === 'enfant').map((m) => [m.first_name, m.birth_date]);
      assert.deepEqual(kids.sort(), [['Chloé', '2018-09-23'], ['Lucas', '2015-06-01']]);
      assert.ok(c.household.some((m) => m.relation === 'conjoint' && m.first_name === 'Marc'), 'other household members are kept');
      const aff = Object.fromEntries(c.affinities.map((a) => [a.category, a.strength]));
      assert.ok(aff.jardin > 0 && aff.cuisine > 0, JSON.stringify(c.affinities));
      assert.ok(!('bricolage' in aff));
      assert.equal(aff.mode, 40, 'affinities outside the choices are kept');
      const consent = c.consents.find((x) => x.channel === 'email' && x.purpose === 'newsletter');
      assert.ok(consent, JSON.stringify(c.consents));
      assert.equal(consent.granted, true);
      assert.equal(consent.source, 'questionnaire');
      const history = await call('GET', `/api/v1/customers/${customer.id}/consents`);
      assert.equal(history.status, 200, show(history));
      assert.ok(history.body.items.some((e) => e.channel === 'email' && e.purpose === 'newsletter' && e.granted === true &&
        e.source === 'questionnaire'), JSON.stringify(history.body.items));
      customer = c;
    });

    test('completion shows one link issued, started and completed', async () => {
      // A second link for the same customer: still one customer given a link, and the first link still works.
      const again = await issueLink(questionnaire.id, customer.id);
      assert.notEqual(again.token, token);
      assert.equal((await pub('GET', token)).status, 200);
      const r = await call('GET', `${Q}/${questionnaire.id}/completion`, { role: 'admin' });
      assert.equal(r.status, 200, show(r));
      assert.equal(r.body.questionnaire_id, questionnaire.id);
      assert.equal(r.body.links_issued, 1);
      assert.equal(r.body.started, 1);
      assert.equal(r.body.completed, 1);
      assert.equal(r.body.completion_rate, 1);
      assert.deepEqual(r.body.sections, SECTION_KEYS.map((section) => ({ section, completed: 1, rate: 1 })));
      expectProblem(await call('GET', `${Q}/999999/completion`), 404, 'id');
    });

    test('a tampered, forged or orphaned token gets 401', async () => {
      expectProblem(await pub('GET', tamper(token)), 401, 'token');
      // The last character's low bits carry nothing: a token spelled otherwise there is still altered.
      const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const last = B64.indexOf(token.at(-1));
      for (const c of [B64[last ^ 1], B64[last ^ 2], B64[last ^ 3]])
        expectProblem(await pub('GET', token.slice(0, -1) + c), 401, 'token');
      const [payload, mac] = token.split('.');
      const decoded = Buffer.from(payload, 'base64url').toString();
      const [qid, , expiry] = decoded.split('.');
      const other = await newCustomer({ last_name: 'Autre', emails: ['autre.client@example.fr'] });
      const forged = `${Buffer.from(`${qid}.${other.id}.${expiry}`).toString('base64url')}.${mac}`;
      expectProblem(await pub('GET', forged), 401, 'token');
      expectProblem(await pub('GET', 'not-a-token'), 401, 'token');
      expectProblem(await pub('GET', `${payload}.`), 401, 'token');
      const before = await getCustomer(customer.id);
      expectProblem(await pub('POST', tamper(token), { body: { answers: { ville: 'Paris' } } }), 401, 'token');
      expectProblem(await pub('POST', forged, { body: { answers: { ville: 'Paris' } } }), 401, 'token');
      assert.equal((await getCustomer(customer.id)).version, before.version);

      // A link whose customer was deleted since no longer works.
      const gone = await newCustomer({ last_name: 'Parti', emails: ['parti@example.fr'] });
      const link = await issueLink(questionnaire.id, gone.id);
      assert.equal((await pub('GET', link.token)).status, 200);
      const del = await call('DELETE', `/api/v1/customers/${gone.id}`);
      assert.equal(del.status, 204, show(del));
      expectProblem(await pub('GET', link.token), 401, 'token');
      expectProblem(await call('POST', `${Q}/${questionnaire.id}/links`, { body: { customer_id: gone.id } }), 404);
    });

    test('a link sent before its customer was merged into another answers for the one that remains', async () => {
      const loser = await newCustomer({ last_name: 'Garnier', emails: ['l.garnier@example.fr'] });
      const winner = await newCustomer({ last_name: 'Garnier', first_name: 'Léa', emails: ['lea.garnier@example.fr'] });
      const { token: t } = await issueLink(questionnaire.id, loser.id);
      const merged = await api(server, 'POST', '/api/v1/merges', {
        role: 'agent', body: { a: loser.id, b: winner.id, winner_id: winner.id },
      });
      assert.equal(merged.status, 201, show(merged));
      const form = await pub('GET', t);
      assert.equal(form.status, 200, show(form));
      const answered = await pub('POST', t, { body: { answers: { ville: 'Annecy' } } });
      assert.equal(answered.status, 200, show(answered));
      assert.equal((await getCustomer(winner.id)).address.city, 'Annecy');
    });

    test('answers sent at the same time are all applied', async () => {
      const c = await newCustomer({ last_name: 'Simon', emails: ['julie.simon@example.fr'] });
      const { token: t } = await issueLink(questionnaire.id, c.id);
      // Three at once: each may lose the race to the two others, and must still be applied.
      const answers = [{ ville: 'Grenoble' }, { telephone: '07 81 22 33 44' }, { newsletter: false }];
      const all = await Promise.all(answers.map((a) => pub('POST', t, { body: { answers: a } })));
      for (const r of all) assert.equal(r.status, 200, show(r));
      const after = await getCustomer(c.id);
      assert.equal(after.address.city, 'Grenoble');
      assert.equal(after.phones[0]?.e164, '+33781223344');
      assert.equal(after.consents.find((x) => x.channel === 'email' && x.purpose === 'newsletter')?.granted, false);
      assert.deepEqual((await pub('GET', t)).body.answered, ['newsletter', 'telephone', 'ville']);
    });

    test('the server log never holds a link token', async () => {
      const c = await newCustomer({ last_name: 'Lambert', emails: ['lambert@example.fr'] });
      const { token: t } = await issueLink(questionnaire.id, c.id);
      const [payload, mac] = t.split('.');
      assert.equal((await pub('POST', t, { body: { answers: { ville: 'Dijon' } } })).status, 200);
      assert.equal((await pub('POST', t, { body: { answers: { naissance: 'hier' } } })).status, 400);
      assert.equal((await pub('GET', tamper(t))).status, 401);
      assert.equal((await pub('GET', `${t}/suite`)).status, 404);
      assert.equal((await pub('PUT', t, { body: { answers: {} } })).status, 405);
      // An order tracking link is a signed token too.
      assert.equal((await api(server, 'GET', `/api/v1/track/${t}`)).status, 404);
      const log = server.stderr();
      assert.match(log, /"path":"\/api\/v1\/public\/questionnaires\/\{token\}"/, 'the requests are logged');
      assert.match(log, /"path":"\/api\/v1\/track\/\{token\}"/);
      for (const secret of [payload, mac]) assert.ok(!log.includes(secret), `the log holds part of a link token: ${secret}`);
      // Every public route whose path carries a parameter names it {token}, which the log hides.
      for (const r of await readRoutes())
        if (r.public && r.path.includes('{')) assert.match(r.path, /\/\{token\}$/, `${r.method} ${r.path}`);
    });

    test("the customer's audit entries show the questionnaire as the actor", async () => {
      const r = await call('GET', `/api/v1/audit?entity=customer&entity_id=${customer.id}`, { role: 'admin' });
      assert.equal(r.status, 200, show(r));
      const updates = r.body.items.filter((e) => e.action === 'customer.update');
      assert.equal(updates.length, 2, JSON.stringify(r.body.items.map((e) => e.action)));
      for (const e of updates) {
        assert.equal(e.actor.type, 'public');
        assert.equal(e.actor.name, 'questionnaire:profil-2025');
        assert.equal(e.actor.id, null);
      }
      const link = r.body.items.find((e) => e.action === 'questionnaire.link');
      assert.ok(link, 'issuing a link is audited');
      assert.equal(link.actor.name, 'test-marketer');
      const created = await call('GET', `/api/v1/audit?entity=questionnaire&entity_id=${questionnaire.id}`, { role: 'admin' });
      assert.equal(created.body.items[0]?.action, 'questionnaire.create', show(created));
    });

    test("a public answer's audit entry keeps the request id and the client address", async () => {
      const c = await newCustomer({ last_name: 'Bernard', emails: ['paul.bernard@example.fr'] });
      const link = await issueLink(questionnaire.id, c.id);
      const r = await pub('POST', link.token, { body: { answers: { ville: 'Nantes' } }, headers: { 'X-Request-Id': 'questionnaire-req-1' } });
      assert.equal(r.status, 200, show(r));
      assert.equal(r.headers.get('x-request-id'), 'questionnaire-req-1');
      const audit = await call('GET', `/api/v1/audit?entity=customer&entity_id=${c.id}`, { role: 'admin' });
      const update = audit.body.items.find((e) => e.action === 'customer.update');
      assert.ok(update, JSON.stringify(audit.body.items));
      assert.equal(update.actor.name, 'questionnaire:profil-2025');
      assert.equal(update.request_id, 'questionnaire-req-1', 'the audit entry names the request that made the change');
      assert.equal(update.actor.ip, '127.0.0.1', 'the audit entry names the client address');
    });

    // Answering again: a questionnaire and a fresh customer with a link, per test.
    let maison;
    const answeringAgain = async (customerBody) => {
      maison ??= await define({
        slug: 'envies-maison',
        title: 'Vos envies pour la maison',
        sections: [{
          key: 'appetences',
          title: 'Vos envies',
          questions: [
            { key: 'rayons', label: 'Rayons', type: 'multi_choice', target: 'affinities', choices: ['Jardin', 'Cuisine'] },
            { key: 'mobile', label: 'Mobile', type: 'text', target: 'phone' },
            { key: 'enfants', label: 'Vos enfants', type: 'children', target: 'children' },
          ],
        }],
      });
      const c = await newCustomer(customerBody);
      const { token: t } = await issueLink(maison.id, c.id);
      return { c, t };
    };

    test('a multiple choice answer with capitalised choices can be changed', async () => {
      const { c, t } = await answeringAgain({ last_name: 'Petit', emails: ['claire.petit@example.fr'] });
      const first = await pub('POST', t, { body: { answers: { rayons: ['Jardin'] } } });
      assert.equal(first.status, 200, show(first));
      const second = await pub('POST', t, { body: { answers: { rayons: ['Jardin', 'Cuisine'] } } });
      assert.equal(second.status, 200, `changing a multiple choice answer: ${show(second)}`);
      const cats = (await getCustomer(c.id)).affinities.map((a) => a.category.toLowerCase()).sort();
      assert.deepEqual(cats, ['cuisine', 'jardin']);
      assert.deepEqual(second.body.current.rayons.toLowerCase().split(', ').sort(), ['cuisine', 'jardin'],
        'the form shows the choices the profile holds');
    });

    test('a choice is recognised whatever its case and accents, and a wrong one is named', async () => {
      const { c, t } = await answeringAgain({ last_name: 'Lemaire', emails: ['paul.lemaire@example.fr'] });
      const r = await pub('POST', t, { body: { answers: { rayons: ['jardin', 'CUISINE'] } } });
      assert.equal(r.status, 200, show(r));
      const cats = (await getCustomer(c.id)).affinities.map((a) => a.category).sort();
      assert.deepEqual(cats, ['cuisine', 'jardin']);
      const wrong = await pub('POST', t, { body: { answers: { rayons: ['Garage'] } } });
      expectProblem(wrong, 400, 'answers.rayons');
    });

    test('a phone number the profile already has is not added twice', async () => {
      const { c, t } = await answeringAgain({ last_name: 'Roux', phones: ['06 98 76 54 23'] });
      const r = await pub('POST', t, { body: { answers: { mobile: '06 98 76 54 23' } } });
      assert.equal(r.status, 200, show(r));
      const phones = (await getCustomer(c.id)).phones.map((p) => p.e164);
      assert.deepEqual(phones, ['+33698765423']);
    });

    test('a number the profile already has, written otherwise, keeps its entry and label', async () => {
      const { c, t } = await answeringAgain({ last_name: 'Blanc', phones: [{ number: '07 80 28 00 95', label: 'mobile' }] });
      const r = await pub('POST', t, { body: { answers: { mobile: '07.80.28.00.95' } } });
      assert.equal(r.status, 200, show(r));
      const phones = (await getCustomer(c.id)).phones.map(({ number, label, e164 }) => ({ number, label, e164 }));
      assert.deepEqual(phones, [{ number: '07 80 28 00 95', label: 'mobile', e164: '+33780280095' }]);
    });

    test('"no children" is answered with an empty list', async () => {
      const { c, t } = await answeringAgain({ last_name: 'Morel', household: [{ relation: 'enfant', first_name: 'Léa' }] });
      const r = await pub('POST', t, { body: { answers: { enfants: [] } } });
      assert.equal(r.status, 200, show(r));
      assert.deepEqual((await getCustomer(c.id)).household.filter((m) => m.relation === 'enfant'), []);
    });

    test('a child with an unknown field is refused, not stored empty', async () => {
      const { c, t } = await answeringAgain({ last_name: 'Girard', emails: ['girard@example.fr'] });
      const r = await pub('POST', t, { body: { answers: { enfants: [{ prenom: 'Tom' }] } } });
      expectProblem(r, 400);
      assert.match(r.body.field, /^answers\.enfants/);
      assert.deepEqual((await getCustomer(c.id)).household, []);
    });
  });
}
