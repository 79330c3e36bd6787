/**
 * ISO 3166-1 alpha-2 country codes (https://www.iso.org/iso-3166-country-codes.html): the 249
 * officially assigned codes with their English short names, and the refusal of everything else
 * with a message that says why. A tenant's contract country, a site's country and a member of
 * staff's office and physical country are all spelled this way, so this table is the one place
 * that decides what a country is.
 *
 * The pitfalls of data-residency.md §9 are refused by name: `UK` is not the United Kingdom's code
 * (it is `GB`), `EL` is the EU's abbreviation for Greece (ISO has `GR`), `XK` is user-assigned
 * (used for Kosovo, which has no ISO code), `EU` is a reservation for the European Union, not a
 * country. User-assigned codes (`AA`, `QM`–`QZ`, `XA`–`XZ`, `ZZ`), the exceptional reservations
 * and a few withdrawn codes get their own reasons. Codes are exactly two uppercase ASCII letters;
 * `gb` is refused rather than upper-cased, so each country has one spelling.
 *
 * LIMIT: the table is compiled in and reflects ISO 3166-1 as of 2024 (249 codes; the latest
 * change of a code was `AN` split into `BQ`, `CW`, `SX` in 2010, names changed since, such as
 * `TR` Türkiye in 2022). A newly assigned code needs a new release of Vouch. This module does not
 * decide residency; `registry.ts` does.
 */

import { VouchError } from '../errors.ts';

const table = [
  ['AD', 'Andorra'],
  ['AE', 'United Arab Emirates'],
  ['AF', 'Afghanistan'],
  ['AG', 'Antigua and Barbuda'],
  ['AI', 'Anguilla'],
  ['AL', 'Albania'],
  ['AM', 'Armenia'],
  ['AO', 'Angola'],
  ['AQ', 'Antarctica'],
  ['AR', 'Argentina'],
  ['AS', 'American Samoa'],
  ['AT', 'Austria'],
  ['AU', 'Australia'],
  ['AW', 'Aruba'],
  ['AX', 'Åland Islands'],
  ['AZ', 'Azerbaijan'],
  ['BA', 'Bosnia and Herzegovina'],
  ['BB', 'Barbados'],
  ['BD', 'Bangladesh'],
  ['BE', 'Belgium'],
  ['BF', 'Burkina Faso'],
  ['BG', 'Bulgaria'],
  ['BH', 'Bahrain'],
  ['BI', 'Burundi'],
  ['BJ', 'Benin'],
  ['BL', 'Saint Barthélemy'],
  ['BM', 'Bermuda'],
  ['BN', 'Brunei Darussalam'],
  ['BO', 'Bolivia (Plurinational State of)'],
  ['BQ', 'Bonaire, Sint Eustatius and Saba'],
  ['BR', 'Brazil'],
  ['BS', 'Bahamas'],
  ['BT', 'Bhutan'],
  ['BV', 'Bouvet Island'],
  ['BW', 'Botswana'],
  ['BY', 'Belarus'],
  ['BZ', 'Belize'],
  ['CA', 'Canada'],
  ['CC', 'Cocos (Keeling) Islands'],
  ['CD', 'Congo, Democratic Republic of the'],
  ['CF', 'Central African Republic'],
  ['CG', 'Congo'],
  ['CH', 'Switzerland'],
  ['CI', "Côte d'Ivoire"],
  ['CK', 'Cook Islands'],
  ['CL', 'Chile'],
  ['CM', 'Cameroon'],
  ['CN', 'China'],
  ['CO', 'Colombia'],
  ['CR', 'Costa Rica'],
  ['CU', 'Cuba'],
  ['CV', 'Cabo Verde'],
  ['CW', 'Curaçao'],
  ['CX', 'Christmas Island'],
  ['CY', 'Cyprus'],
  ['CZ', 'Czechia'],
  ['DE', 'Germany'],
  ['DJ', 'Djibouti'],
  ['DK', 'Denmark'],
  ['DM', 'Dominica'],
  ['DO', 'Dominican Republic'],
  ['DZ', 'Algeria'],
  ['EC', 'Ecuador'],
  ['EE', 'Estonia'],
  ['EG', 'Egypt'],
  ['EH', 'Western Sahara'],
  ['ER', 'Eritrea'],
  ['ES', 'Spain'],
  ['ET', 'Ethiopia'],
  ['FI', 'Finland'],
  ['FJ', 'Fiji'],
  ['FK', 'Falkland Islands (Malvinas)'],
  ['FM', 'Micronesia (Federated States of)'],
  ['FO', 'Faroe Islands'],
  ['FR', 'France'],
  ['GA', 'Gabon'],
  ['GB', 'United Kingdom of Great Britain and Northern Ireland'],
  ['GD', 'Grenada'],
  ['GE', 'Georgia'],
  ['GF', 'French Guiana'],
  ['GG', 'Guernsey'],
  ['GH', 'Ghana'],
  ['GI', 'Gibraltar'],
  ['GL', 'Greenland'],
  ['GM', 'Gambia'],
  ['GN', 'Guinea'],
  ['GP', 'Guadeloupe'],
  ['GQ', 'Equatorial Guinea'],
  ['GR', 'Greece'],
  ['GS', 'South Georgia and the South Sandwich Islands'],
  ['GT', 'Guatemala'],
  ['GU', 'Guam'],
  ['GW', 'Guinea-Bissau'],
  ['GY', 'Guyana'],
  ['HK', 'Hong Kong'],
  ['HM', 'Heard Island and McDonald Islands'],
  ['HN', 'Honduras'],
  ['HR', 'Croatia'],
  ['HT', 'Haiti'],
  ['HU', 'Hungary'],
  ['ID', 'Indonesia'],
  ['IE', 'Ireland'],
  ['IL', 'Israel'],
  ['IM', 'Isle of Man'],
  ['IN', 'India'],
  ['IO', 'British Indian Ocean Territory'],
  ['IQ', 'Iraq'],
  ['IR', 'Iran (Islamic Republic of)'],
  ['IS', 'Iceland'],
  ['IT', 'Italy'],
  ['JE', 'Jersey'],
  ['JM', 'Jamaica'],
  ['JO', 'Jordan'],
  ['JP', 'Japan'],
  ['KE', 'Kenya'],
  ['KG', 'Kyrgyzstan'],
  ['KH', 'Cambodia'],
  ['KI', 'Kiribati'],
  ['KM', 'Comoros'],
  ['KN', 'Saint Kitts and Nevis'],
  ['KP', "Korea (Democratic People's Republic of)"],
  ['KR', 'Korea, Republic of'],
  ['KW', 'Kuwait'],
  ['KY', 'Cayman Islands'],
  ['KZ', 'Kazakhstan'],
  ['LA', "Lao People's Democratic Republic"],
  ['LB', 'Lebanon'],
  ['LC', 'Saint Lucia'],
  ['LI', 'Liechtenstein'],
  ['LK', 'Sri Lanka'],
  ['LR', 'Liberia'],
  ['LS', 'Lesotho'],
  ['LT', 'Lithuania'],
  ['LU', 'Luxembourg'],
  ['LV', 'Latvia'],
  ['LY', 'Libya'],
  ['MA', 'Morocco'],
  ['MC', 'Monaco'],
  ['MD', 'Moldova, Republic of'],
  ['ME', 'Montenegro'],
  ['MF', 'Saint Martin (French part)'],
  ['MG', 'Madagascar'],
  ['MH', 'Marshall Islands'],
  ['MK', 'North Macedonia'],
  ['ML', 'Mali'],
  ['MM', 'Myanmar'],
  ['MN', 'Mongolia'],
  ['MO', 'Macao'],
  ['MP', 'Northern Mariana Islands'],
  ['MQ', 'Martinique'],
  ['MR', 'Mauritania'],
  ['MS', 'Montserrat'],
  ['MT', 'Malta'],
  ['MU', 'Mauritius'],
  ['MV', 'Maldives'],
  ['MW', 'Malawi'],
  ['MX', 'Mexico'],
  ['MY', 'Malaysia'],
  ['MZ', 'Mozambique'],
  ['NA', 'Namibia'],
  ['NC', 'New Caledonia'],
  ['NE', 'Niger'],
  ['NF', 'Norfolk Island'],
  ['NG', 'Nigeria'],
  ['NI', 'Nicaragua'],
  ['NL', 'Netherlands, Kingdom of the'],
  ['NO', 'Norway'],
  ['NP', 'Nepal'],
  ['NR', 'Nauru'],
  ['NU', 'Niue'],
  ['NZ', 'New Zealand'],
  ['OM', 'Oman'],
  ['PA', 'Panama'],
  ['PE', 'Peru'],
  ['PF', 'French Polynesia'],
  ['PG', 'Papua New Guinea'],
  ['PH', 'Philippines'],
  ['PK', 'Pakistan'],
  ['PL', 'Poland'],
  ['PM', 'Saint Pierre and Miquelon'],
  ['PN', 'Pitcairn'],
  ['PR', 'Puerto Rico'],
  ['PS', 'Palestine, State of'],
  ['PT', 'Portugal'],
  ['PW', 'Palau'],
  ['PY', 'Paraguay'],
  ['QA', 'Qatar'],
  ['RE', 'Réunion'],
  ['RO', 'Romania'],
  ['RS', 'Serbia'],
  ['RU', 'Russian Federation'],
  ['RW', 'Rwanda'],
  ['SA', 'Saudi Arabia'],
  ['SB', 'Solomon Islands'],
  ['SC', 'Seychelles'],
  ['SD', 'Sudan'],
  ['SE', 'Sweden'],
  ['SG', 'Singapore'],
  ['SH', 'Saint Helena, Ascension and Tristan da Cunha'],
  ['SI', 'Slovenia'],
  ['SJ', 'Svalbard and Jan Mayen'],
  ['SK', 'Slovakia'],
  ['SL', 'Sierra Leone'],
  ['SM', 'San Marino'],
  ['SN', 'Senegal'],
  ['SO', 'Somalia'],
  ['SR', 'Suriname'],
  ['SS', 'South Sudan'],
  ['ST', 'Sao Tome and Principe'],
  ['SV', 'El Salvador'],
  ['SX', 'Sint Maarten (Dutch part)'],
  ['SY', 'Syrian Arab Republic'],
  ['SZ', 'Eswatini'],
  ['TC', 'Turks and Caicos Islands'],
  ['TD', 'Chad'],
  ['TF', 'French Southern Territories'],
  ['TG', 'Togo'],
  ['TH', 'Thailand'],
  ['TJ', 'Tajikistan'],
  ['TK', 'Tokelau'],
  ['TL', 'Timor-Leste'],
  ['TM', 'Turkmenistan'],
  ['TN', 'Tunisia'],
  ['TO', 'Tonga'],
  ['TR', 'Türkiye'],
  ['TT', 'Trinidad and Tobago'],
  ['TV', 'Tuvalu'],
  ['TW', 'Taiwan, Province of China'],
  ['TZ', 'Tanzania, United Republic of'],
  ['UA', 'Ukraine'],
  ['UG', 'Uganda'],
  ['UM', 'United States Minor Outlying Islands'],
  ['US', 'United States of America'],
  ['UY', 'Uruguay'],
  ['UZ', 'Uzbekistan'],
  ['VA', 'Holy See'],
  ['VC', 'Saint Vincent and the Grenadines'],
  ['VE', 'Venezuela (Bolivarian Republic of)'],
  ['VG', 'Virgin Islands (British)'],
  ['VI', 'Virgin Islands (U.S.)'],
  ['VN', 'Viet Nam'],
  ['VU', 'Vanuatu'],
  ['WF', 'Wallis and Futuna'],
  ['WS', 'Samoa'],
  ['YE', 'Yemen'],
  ['YT', 'Mayotte'],
  ['ZA', 'South Africa'],
  ['ZM', 'Zambia'],
  ['ZW', 'Zimbabwe'],
] as const;

/** CountryCode is an officially assigned ISO 3166-1 alpha-2 code, such as `GB` or `JP`. */
export type CountryCode = (typeof table)[number][0];

/** countryCodes lists the 249 officially assigned ISO 3166-1 alpha-2 codes in alphabetical order. */
export const countryCodes: readonly CountryCode[] = Object.freeze(table.map(([code]) => code));

const names: ReadonlyMap<string, string> = new Map(table);

/**
 * euMemberStates lists the 27 member states of the European Union (since 1 February 2020), by
 * ISO code: note Greece is `GR` here although EU documents write `EL`.
 */
export const euMemberStates: readonly CountryCode[] = Object.freeze([
  'AT',
  'BE',
  'BG',
  'CY',
  'CZ',
  'DE',
  'DK',
  'EE',
  'ES',
  'FI',
  'FR',
  'GR',
  'HR',
  'HU',
  'IE',
  'IT',
  'LT',
  'LU',
  'LV',
  'MT',
  'NL',
  'PL',
  'PT',
  'RO',
  'SE',
  'SI',
  'SK',
]);

// Codes people write that ISO 3166-1 does not assign to a country, with the reason each is refused.
const refusals: ReadonlyMap<string, string> = new Map([
  ['UK', 'UK is not an ISO 3166-1 code; the United Kingdom is GB'],
  ['EL', "EL is not an ISO 3166-1 code (it is the EU's abbreviation); Greece is GR"],
  ['EU', 'EU is reserved for the European Union, which is not a country; use a member state code'],
  ['EZ', 'EZ is reserved for the eurozone, which is not a country'],
  ['UN', 'UN is reserved for the United Nations, which is not a country'],
  ['XK', 'XK is a user-assigned code (used for Kosovo), not an officially assigned ISO 3166-1 code'],
  ['AC', 'AC is reserved for Ascension Island, which ISO 3166-1 includes in SH'],
  ['TA', 'TA is reserved for Tristan da Cunha, which ISO 3166-1 includes in SH'],
  ['CP', 'CP is reserved for Clipperton Island, which has no ISO 3166-1 code of its own'],
  ['DG', 'DG is reserved for Diego Garcia, which ISO 3166-1 includes in IO'],
  ['EA', 'EA is reserved for Ceuta and Melilla, which ISO 3166-1 includes in ES'],
  ['IC', 'IC is reserved for the Canary Islands, which ISO 3166-1 includes in ES'],
  ['FX', 'FX (Metropolitan France) is reserved, not assigned; France is FR'],
  ['SU', 'SU (USSR) is withdrawn; use the code of the successor state'],
  ['AN', 'AN (Netherlands Antilles) is withdrawn; use BQ, CW or SX'],
  ['CS', 'CS (Serbia and Montenegro) is withdrawn; use RS or ME'],
  ['YU', 'YU (Yugoslavia) is withdrawn; use the code of the successor state'],
  ['TP', 'TP (East Timor) is withdrawn; Timor-Leste is TL'],
  ['ZR', 'ZR (Zaire) is withdrawn; the Democratic Republic of the Congo is CD'],
  ['BU', 'BU (Burma) is withdrawn; Myanmar is MM'],
  ['DD', 'DD (German Democratic Republic) is withdrawn; Germany is DE'],
  ['CQ', 'CQ is reserved for Sark, which ISO 3166-1 includes in GG'],
  ['DY', 'DY (Dahomey) is withdrawn; Benin is BJ'],
  ['HV', 'HV (Upper Volta) is withdrawn; Burkina Faso is BF'],
  ['NH', 'NH (New Hebrides) is withdrawn; Vanuatu is VU'],
  ['RH', 'RH (Southern Rhodesia) is withdrawn; Zimbabwe is ZW'],
  ['VD', 'VD (North Vietnam) is withdrawn; Viet Nam is VN'],
  ['YD', 'YD (South Yemen) is withdrawn; Yemen is YE'],
]);

/** isCountryCode reports whether `value` is an officially assigned ISO 3166-1 alpha-2 code. */
export function isCountryCode(value: unknown): value is CountryCode {
  return typeof value === 'string' && names.has(value);
}

/**
 * countryCodeProblem returns why `value` is not an officially assigned ISO 3166-1 alpha-2 code
 * (a fixed phrase, safe to show: the known misspellings and reservations are named, any other
 * input is not echoed), or undefined when it is one.
 */
export function countryCodeProblem(value: unknown): string | undefined {
  if (isCountryCode(value)) return undefined;
  if (typeof value !== 'string') return 'a country code must be a string';
  if (!/^[A-Za-z]{2}$/.test(value)) return 'a country code is two uppercase letters (ISO 3166-1 alpha-2)';
  if (value !== value.toUpperCase()) {
    return isCountryCode(value.toUpperCase())
      ? 'a country code is written in uppercase letters'
      : 'a country code is two uppercase letters (ISO 3166-1 alpha-2)';
  }
  const known = refusals.get(value);
  if (known !== undefined) return known;
  if (value === 'AA' || value === 'ZZ' || /^Q[M-Z]$/.test(value) || value.startsWith('X')) {
    return `${value} is a user-assigned code, not an officially assigned ISO 3166-1 code`;
  }
  return `${value} is not an officially assigned ISO 3166-1 alpha-2 code`;
}

/**
 * assertCountryCode narrows `value` to a {@link CountryCode} or throws `invalid-argument` whose
 * message says why (for example "UK is not an ISO 3166-1 code; the United Kingdom is GB"), with
 * `details.field` = `field`.
 */
export function assertCountryCode(value: unknown, field = 'country'): asserts value is CountryCode {
  const problem = countryCodeProblem(value);
  if (problem !== undefined) throw new VouchError('invalid-argument', problem, { field });
}

/** countryName returns the English short name of an assigned code, or undefined for anything else. */
export function countryName(code: string): string | undefined {
  return names.get(code);
}
