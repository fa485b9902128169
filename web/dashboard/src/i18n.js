// The page's own words in Georgian and English. The data's names (regions,
// municipalities, projects, indicators) come from the API, which gives each
// in both languages (LocalizedText); these are only the labels around them.

export const LANGS = ['ka', 'en'];

const STRINGS = {
  ka: {
    skip: 'მთავარ შინაარსზე გადასვლა',
    title: 'სამოქალაქო მონაწილეობა საქართველოში',
    intro:
      'მონაცემები Civic Ledger-ის საჯარო GraphQL API-დან, ანონიმური მომხმარებლის სახით. ყოველ დიაგრამასთან არის მისი მოთხოვნა, რომ იგივე მონაცემები საკუთარ აპლიკაციაშიც მიიღოთ, და CSV ფაილი.',
    language: 'ენა',
    footer: 'Civic Ledger: სამოქალაქო მონაწილეობის ღია რეესტრი. ყველა მონაცემი აქ საჯაროა.',
    'footer.api': 'GraphQL API',
    'footer.graphiql': 'GraphiQL',
    'footer.licences': 'ლიცენზიები',
    loading: 'იტვირთება…',
    error: 'მონაცემები ვერ ჩაიტვირთა',
    empty: 'მონაცემები არ არის.',
    csv: 'CSV-ის ჩამოტვირთვა',
    'csv.hint': 'UTF-8, ყველა სტრიქონი, რასაც მოთხოვნა აბრუნებს',
    table: 'მონაცემთა ცხრილი',
    query: 'GraphQL მოთხოვნა',
    variables: 'ცვლადები',
    graphiql: 'GraphiQL-ში გახსნა',
    rows: (n) => `${n} სტრიქონი`,
    'chart.label': (title) => `დიაგრამა: ${title}. იგივე მონაცემები ქვემოთ, ცხრილში.`,

    'regions.title': 'რეგიონები',
    'regions.desc':
      'ღონისძიებებზე დასწრება ყველა წლის განმავლობაში, 1000 მცხოვრებზე (2014 წლის აღწერა). რეგიონზე დაჭერით ქვემოთ მოცემული დინამიკა ამ რეგიონზე ჩანს.',
    'regions.per1000': '1000 მცხოვრებზე',
    'regions.attendance': 'დამსწრე',
    'regions.nodata': 'მონაცემები არ არის',
    'regions.show': (name) => `${name}: დინამიკის ჩვენება`,

    'trend.title': 'მონაწილეობა წლების მიხედვით: რეგიონი და სქესი',
    'trend.desc':
      'ჩატარებულ ღონისძიებებზე დამსწრეთა რაოდენობა წლების მიხედვით, სქესის მიხედვით დაყოფილი; ხაზი: ქალების წილი იმ დამსწრეთა შორის, ვისი სქესიც ცნობილია.',
    'trend.region': 'რეგიონი',
    'trend.all': 'ყველა რეგიონი',
    'trend.share': 'ქალების წილი (%)',

    'percapita.title': 'დასწრება 1000 მცხოვრებზე მუნიციპალიტეტების მიხედვით',
    'percapita.desc':
      'თითოეული მუნიციპალიტეტი, დაყოფილი იმ წლებად, როცა მას მონაწილეობითი ბიუჯეტირების სერტიფიკატი ჰქონდა, და დანარჩენ წლებად; ყველაზე მაღალი მაჩვენებელი პირველია. 1000 მცხოვრებზე, 2014 წლის აღწერის მიხედვით.',
    'percapita.certified': 'სერტიფიკატის მქონე წლები',
    'percapita.other': 'სხვა წლები',
    'percapita.axis': 'დამსწრე 1000 მცხოვრებზე',

    'certificates.title': 'სერტიფიკატების რეესტრი',
    'certificates.desc':
      'მონაწილეობითი ბიუჯეტირების სერტიფიკატები და მათი სტატუსი დღეს (თბილისის დროით).',

    'indicators.title': 'პროექტების ინდიკატორები და მიზნები',
    'indicators.desc':
      'თითოეული ინდიკატორი: რამდენი პროცენტით მიუახლოვდა საბაზისოდან მიზნამდე, და მიზნის პერიოდის რა ნაწილი გავიდა.',
    'indicators.percent': 'მიზნის შესრულება (%)',
    'indicators.elapsed': 'გასული დრო (%)',
    'indicators.target': 'მიზანი',

    'budgets.title': 'მონაწილეობითი ბიუჯეტები',
    'budgets.desc':
      'ციკლები, რომელთა შედეგებიც გამოცხადებულია: ხმის მიცემაში მონაწილეობა (მონაწილეები მოსახლეობასთან, %) წლების მიხედვით.',
    'budgets.axis': 'მონაწილეობა (%)',
    'budgets.none': 'გამოცხადებული შედეგები ჯერ არ არის.',

    'ranking.title': 'სამოქალაქო ჩართულობის ინდექსი: რეიტინგი',
    'ranking.desc': 'გამოქვეყნებული რაუნდის რეიტინგი: მუნიციპალიტეტის ჯამური ქულა (%).',
    'ranking.round': 'რაუნდი',
    'ranking.axis': 'ქულა (%)',
    'ranking.none': 'გამოქვეყნებული რაუნდი ჯერ არ არის.',
    'ranking.average': 'საშუალო',

    // Column headers of the tables (the CSV keeps the API's field names).
    'col.code': 'კოდი',
    'col.name': 'სახელი',
    'col.kind': 'სახე',
    'col.year': 'წელი',
    'col.region': 'რეგიონი',
    'col.municipality': 'მუნიციპალიტეტი',
    'col.sex': 'სქესი',
    'col.activities': 'ღონისძიებები',
    'col.attendance': 'დამსწრე',
    'col.population': 'მოსახლეობა (2014)',
    'col.per1000': '1000 მცხოვრებზე',
    'col.certified': 'სერტიფიცირებული',
    'col.number': 'ნომერი',
    'col.validFrom': 'მოქმედებს (დან)',
    'col.validUntil': 'მოქმედებს (მდე)',
    'col.status': 'სტატუსი',
    'col.awardedOn': 'გადაცემულია',
    'col.revokedOn': 'გაუქმებულია',
    'col.project': 'პროექტი',
    'col.indicator': 'ინდიკატორი',
    'col.unit': 'ერთეული',
    'col.baseline': 'საბაზისო',
    'col.target': 'მიზანი',
    'col.actual': 'ფაქტობრივი',
    'col.percent': 'შესრულება (%)',
    'col.elapsed': 'გასული დრო (%)',
    'col.cycle': 'ციკლი',
    'col.total': 'ბიუჯეტი',
    'col.voters': 'მონაწილეები',
    'col.turnout': 'მონაწილეობა (%)',
    'col.winners': 'გამარჯვებული იდეები',
    'col.cost': 'გამარჯვებულთა ღირებულება',
    'col.rank': 'ადგილი',
    'col.score': 'ქულა (%)',
    'col.band': 'ჯგუფი',
    'col.change': 'ცვლილება',

    'enum.FEMALE': 'ქალი',
    'enum.MALE': 'კაცი',
    'enum.UNRECORDED': 'არ არის მითითებული',
    'enum.VALID': 'მოქმედი',
    'enum.EXPIRED': 'ვადაგასული',
    'enum.REVOKED': 'გაუქმებული',
    'enum.ON_TRACK': 'გეგმის მიხედვით',
    'enum.AT_RISK': 'ჩამორჩება',
    'enum.MISSED': 'ვერ შესრულდა',
    'enum.ACHIEVED': 'შესრულდა',
    'enum.NO_TARGET': 'მიზანი არ არის',
    'enum.NOT_MEASURED': 'არ იზომება',
    'enum.COUNT': 'რაოდენობა',
    'enum.PERCENT': 'პროცენტი',
    'enum.CURRENCY': 'თანხა',
    'enum.QUALITATIVE': 'თვისებრივი',
    'enum.REGION': 'მხარე',
    'enum.AUTONOMOUS_REPUBLIC': 'ავტონომიური რესპუბლიკა',
    'enum.CAPITAL': 'დედაქალაქი',
    'enum.true': 'კი',
    'enum.false': 'არა',
  },
  en: {
    skip: 'Skip to the content',
    title: 'Civic participation in Georgia',
    intro:
      "Figures from Civic Ledger's public GraphQL API, read as an anonymous caller. Beside each chart is its query, so your own application can ask for the same, and a CSV file of its data.",
    language: 'Language',
    footer: 'Civic Ledger: an open ledger of civic participation. Everything shown here is public.',
    'footer.api': 'GraphQL API',
    'footer.graphiql': 'GraphiQL',
    'footer.licences': 'Licences',
    loading: 'Loading…',
    error: 'The figures could not be loaded',
    empty: 'No data.',
    csv: 'Download CSV',
    'csv.hint': 'UTF-8, every row the query returns',
    table: 'Data table',
    query: 'GraphQL query',
    variables: 'Variables',
    graphiql: 'Open in GraphiQL',
    rows: (n) => `${n} ${n === 1 ? 'row' : 'rows'}`,
    'chart.label': (title) => `Chart: ${title}. The same figures are in the data table below.`,

    'regions.title': 'Regions',
    'regions.desc':
      'Attendance at activities over all years, per 1,000 inhabitants (2014 census). Choose a region to see its trend below.',
    'regions.per1000': 'per 1,000 inhabitants',
    'regions.attendance': 'attendees',
    'regions.nodata': 'no data',
    'regions.show': (name) => `${name}: show its trend`,

    'trend.title': 'Participation over time by region and sex',
    'trend.desc':
      "Attendees of held activities by year, split by sex; the line: women's share of the attendees whose sex was recorded.",
    'trend.region': 'Region',
    'trend.all': 'All regions',
    'trend.share': "Women's share (%)",

    'percapita.title': 'Attendance per 1,000 inhabitants by municipality',
    'percapita.desc':
      'Each municipality, split into the years it held a participatory budgeting certificate and its other years, highest first. Per 1,000 inhabitants, 2014 census.',
    'percapita.certified': 'Years with a certificate',
    'percapita.other': 'Other years',
    'percapita.axis': 'Attendees per 1,000 inhabitants',

    'certificates.title': 'Certificate registry',
    'certificates.desc': 'Participatory budgeting certificates and their standing today (Tbilisi time).',

    'indicators.title': 'Project indicators against targets',
    'indicators.desc':
      "Each indicator: how far it has come from its baseline towards its target, in percent, against how much of the target's period has gone by.",
    'indicators.percent': 'Progress towards target (%)',
    'indicators.elapsed': 'Time elapsed (%)',
    'indicators.target': 'Target',

    'budgets.title': 'Participatory budgets',
    'budgets.desc':
      'Cycles whose results are declared: turnout (voters against the population, %) by year.',
    'budgets.axis': 'Turnout (%)',
    'budgets.none': 'No results declared yet.',

    'ranking.title': 'Civic-engagement benchmark: ranking',
    'ranking.desc': "A published round's ranking: each municipality's total score (%).",
    'ranking.round': 'Round',
    'ranking.axis': 'Score (%)',
    'ranking.none': 'No round is published yet.',
    'ranking.average': 'Average',

    'col.code': 'Code',
    'col.name': 'Name',
    'col.kind': 'Kind',
    'col.year': 'Year',
    'col.region': 'Region',
    'col.municipality': 'Municipality',
    'col.sex': 'Sex',
    'col.activities': 'Activities',
    'col.attendance': 'Attendees',
    'col.population': 'Population (2014)',
    'col.per1000': 'Per 1,000',
    'col.certified': 'Certified',
    'col.number': 'Number',
    'col.validFrom': 'Valid from',
    'col.validUntil': 'Valid until',
    'col.status': 'Status',
    'col.awardedOn': 'Awarded on',
    'col.revokedOn': 'Revoked on',
    'col.project': 'Project',
    'col.indicator': 'Indicator',
    'col.unit': 'Unit',
    'col.baseline': 'Baseline',
    'col.target': 'Target',
    'col.actual': 'Actual',
    'col.percent': 'Progress (%)',
    'col.elapsed': 'Time elapsed (%)',
    'col.cycle': 'Cycle',
    'col.total': 'Budget',
    'col.voters': 'Voters',
    'col.turnout': 'Turnout (%)',
    'col.winners': 'Winning ideas',
    'col.cost': "Winners' cost",
    'col.rank': 'Rank',
    'col.score': 'Score (%)',
    'col.band': 'Band',
    'col.change': 'Change',

    'enum.FEMALE': 'Women',
    'enum.MALE': 'Men',
    'enum.UNRECORDED': 'Not recorded',
    'enum.VALID': 'Valid',
    'enum.EXPIRED': 'Expired',
    'enum.REVOKED': 'Revoked',
    'enum.ON_TRACK': 'On track',
    'enum.AT_RISK': 'At risk',
    'enum.MISSED': 'Missed',
    'enum.ACHIEVED': 'Achieved',
    'enum.NO_TARGET': 'No target',
    'enum.NOT_MEASURED': 'Not measured',
    'enum.COUNT': 'Count',
    'enum.PERCENT': 'Percent',
    'enum.CURRENCY': 'Money',
    'enum.QUALITATIVE': 'Qualitative',
    'enum.REGION': 'Region',
    'enum.AUTONOMOUS_REPUBLIC': 'Autonomous republic',
    'enum.CAPITAL': 'Capital',
    'enum.true': 'Yes',
    'enum.false': 'No',
  },
};

let current = 'ka';

// lang is the language the page shows now.
export function lang() {
  return current;
}

export function setLang(l) {
  if (!LANGS.includes(l)) throw new Error(`unknown language ${l}`);
  current = l;
}

// t looks a key up in the current language; a function entry takes args.
// A missing key is a bug, shown as the key so a screenshot gives it away.
export function t(key, ...args) {
  const v = STRINGS[current][key];
  if (v === undefined) {
    console.error(`i18n: no ${current} text for ${key}`);
    return key;
  }
  return typeof v === 'function' ? v(...args) : v;
}

// enumLabel names an API enum value (or a boolean) in the current language.
export function enumLabel(value) {
  if (value === null || value === undefined) return '';
  return t(`enum.${value}`);
}

// loc picks a LocalizedText's text: English falls back to Georgian, which
// the API never leaves empty.
export function loc(text) {
  if (!text) return '';
  return current === 'en' ? text.en || text.ka : text.ka;
}

const numberFormats = {};
// num formats a number for the current language (Georgian groups digits
// with a space and uses a decimal comma).
export function num(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  const key = `${current}/${digits}`;
  numberFormats[key] ??= new Intl.NumberFormat(current === 'ka' ? 'ka-GE' : 'en-GB', {
    minimumFractionDigits: 0,
    maximumFractionDigits: digits,
  });
  return numberFormats[key].format(value);
}

// initialLang decides the language a visitor first sees: ?lang= in the
// address (a shared link), else the visitor's own earlier choice, else the
// first of Georgian or English in the browser's preferred languages, else
// Georgian, the language of the ledger's users and of its source texts.
export function initialLang(search, stored, preferred) {
  const asked = new URLSearchParams(search).get('lang');
  if (LANGS.includes(asked)) return asked;
  if (LANGS.includes(stored)) return stored;
  for (const tag of preferred || []) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (LANGS.includes(base)) return base;
  }
  return 'ka';
}
