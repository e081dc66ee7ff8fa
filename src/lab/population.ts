import { hash32, unit } from './prng.ts'

/**
 * The lab's synthetic population: users, items with sellers, comments, partners with API keys
 * and customer accounts. Nothing is materialised: every record is derived from `(seed, index)`
 * when asked for, so a population of millions costs a few kilobytes and any process started with
 * the same seed and size (shop, simulators, test harness) sees exactly the same people.
 * No real personal data: nicknames are syllable soup, mobile numbers are random in the mainland
 * format (`1[3-9]` + 9 digits), cities are just city names.
 */

/** Options of {@link createPopulation}. */
export interface PopulationOptions {
  /** Seed; the same seed and sizes give the same population. @default 1 */
  readonly seed?: number
  /** Number of users (and customer accounts). @default 200000 */
  readonly users?: number
  /** Number of items. @default max(200, users / 20) */
  readonly items?: number
  /** Number of sellers (merchants). @default max(20, items / 25) */
  readonly sellers?: number
  /** Number of partner firms with API keys. @default 8 */
  readonly partners?: number
}

/** One user's public and private record. */
export interface User {
  readonly userId: number
  readonly nickname: string
  readonly city: string
  /** Synthetic mainland mobile number, 11 digits. */
  readonly phone: string
}

/** One item for sale. */
export interface Item {
  readonly itemId: number
  readonly sellerId: number
  readonly title: string
  /** Price in fen (1/100 yuan). */
  readonly priceFen: number
  readonly comments: number
}

/** One comment by a user on an item. */
export interface Comment {
  readonly commentId: number
  readonly userId: number
  readonly nickname: string
  readonly text: string
  /** Milliseconds since the epoch. */
  readonly time: number
}

/** A partner (marketing firm): API key, merchants it serves, and so the customers it may see. */
export interface Partner {
  readonly index: number
  /** Stable public ID of the key, what the shop logs (never the secret). */
  readonly keyId: string
  /** The secret bearer token. */
  readonly apiKey: string
  readonly name: string
}

/** The first user ID; user IDs are dense from here. */
export const FIRST_USER_ID = 1_000_001
/** The first item ID; item IDs are dense from here. */
export const FIRST_ITEM_ID = 50_001
/** Comments per page of the comments API and the item page. */
export const COMMENTS_PER_PAGE = 20
/** Every customer belongs to at most one partner: partner = bucket when bucket < partners. */
const CUSTOMER_BUCKETS = 10

const SYLLABLES = [
  'xiao',
  'ming',
  'hua',
  'li',
  'wei',
  'fang',
  'jing',
  'lei',
  'yun',
  'tao',
  'bo',
  'chen',
  'an',
  'mei',
  'lin',
  'hao',
  'jun',
  'qing',
  'rui',
  'xin',
  'yu',
  'zhi',
  'kai',
  'lan',
  'feng',
  'long',
  'shan',
  'tian',
  'xue',
  'yan',
  'zi',
  'mo',
] as const
const CITIES = [
  'Hangzhou',
  'Shanghai',
  'Beijing',
  'Shenzhen',
  'Guangzhou',
  'Chengdu',
  'Wuhan',
  'Nanjing',
  'Xian',
  'Suzhou',
  'Tianjin',
  'Chongqing',
  'Changsha',
  'Qingdao',
  'Ningbo',
  'Xiamen',
  'Kunming',
  'Harbin',
  'Zhengzhou',
  'Hefei',
  'Fuzhou',
  'Jinan',
  'Dalian',
  'Shenyang',
] as const
const ADJECTIVES = [
  'Soft',
  'Light',
  'Classic',
  'Smart',
  'Mini',
  'Pro',
  'Eco',
  'Silk',
  'Steel',
  'Bamboo',
] as const
const NOUNS = [
  'Teapot',
  'Lamp',
  'Backpack',
  'Phone Case',
  'Scarf',
  'Kettle',
  'Notebook',
  'Umbrella',
  'Speaker',
  'Sneakers',
  'Mug',
  'Pillow',
] as const
const PHRASES = [
  'Fast delivery, works as described.',
  'Good value for the price.',
  'Colour slightly different from the photo.',
  'Second purchase, still happy.',
  'Packaging was damaged but the item is fine.',
  'Seller answered quickly.',
  'Quality better than expected!',
  'Bought as a gift, they loved it.',
  'Average. Would not buy again.',
  'Exactly what I needed.',
] as const
// Salts keep independent attributes of one index uncorrelated.
const S_NICK = 1,
  S_CITY = 2,
  S_PHONE = 3,
  S_SELLER = 4,
  S_TITLE = 5,
  S_PRICE = 6,
  S_COUNT = 7
const S_AUTHOR = 8,
  S_TEXT = 9,
  S_TIME = 10,
  S_CUSTOMER = 11,
  S_KEY = 12,
  S_PASS = 13,
  S_ORDERS = 14
// Comment times fall in the year before the lab's epoch.
const COMMENT_EPOCH_MS = Date.UTC(2019, 0, 1)

/**
 * A seeded population, derived record by record. Create with {@link createPopulation}.
 */
export class Population {
  readonly seed: number
  readonly users: number
  readonly items: number
  readonly sellers: number
  readonly partners: number
  constructor(options: PopulationOptions = {}) {
    this.seed = (options.seed ?? 1) >>> 0
    this.users = positive('users', options.users ?? 200_000)
    this.items = positive('items', options.items ?? Math.max(200, Math.floor(this.users / 20)))
    this.sellers = positive('sellers', options.sellers ?? Math.max(20, Math.floor(this.items / 25)))
    this.partners = Math.min(CUSTOMER_BUCKETS, positive('partners', options.partners ?? 8))
  }

  get lastUserId(): number {
    return FIRST_USER_ID + this.users - 1
  }
  get lastItemId(): number {
    return FIRST_ITEM_ID + this.items - 1
  }
  hasUser(userId: number): boolean {
    return Number.isInteger(userId) && userId >= FIRST_USER_ID && userId <= this.lastUserId
  }
  hasItem(itemId: number): boolean {
    return Number.isInteger(itemId) && itemId >= FIRST_ITEM_ID && itemId <= this.lastItemId
  }

  /** The user with this ID (caller checks {@link hasUser}). */
  user(userId: number): User {
    return {
      userId,
      nickname: this.nickname(userId),
      city: CITIES[hash32(this.seed, userId, S_CITY) % CITIES.length] as string,
      phone: this.phone(userId),
    }
  }
  nickname(userId: number): string {
    const h = hash32(this.seed, userId, S_NICK)
    return `${SYLLABLES[h & 31]}${SYLLABLES[(h >>> 5) & 31]}_${(h >>> 10) % 10000}`
  }
  phone(userId: number): string {
    const h = hash32(this.seed, userId, S_PHONE)
    const rest = (hash32(h, userId, S_PHONE) % 1_000_000_000).toString().padStart(9, '0')
    return `1${3 + (h % 7)}${rest}`
  }
  /** Login name of the user's customer account. */
  username(userId: number): string {
    return `u${userId}`
  }
  /** Password of the user's customer account (synthetic, derived from the seed). */
  password(userId: number): string {
    return `pw-${hash32(this.seed, userId, S_PASS).toString(36)}`
  }
  /** User ID of a username `u<id>`, or -1. */
  userIdOf(username: string): number {
    if (!/^u\d+$/.test(username)) return -1
    const id = Number(username.slice(1))
    return this.hasUser(id) ? id : -1
  }
  /** Item IDs the user bought (0 to 5). */
  orders(userId: number): number[] {
    const h = hash32(this.seed, userId, S_ORDERS)
    const out: number[] = []
    for (let i = 0; i < h % 6; i++) out.push(FIRST_ITEM_ID + (hash32(h, i, S_ORDERS) % this.items))
    return out
  }

  item(itemId: number): Item {
    const h = hash32(this.seed, itemId, S_TITLE)
    // Popularity is skewed: most items have a handful of comments, a few have hundreds.
    const u = unit(this.seed, itemId, S_COUNT)
    return {
      itemId,
      sellerId: 1 + (hash32(this.seed, itemId, S_SELLER) % this.sellers),
      title: `${ADJECTIVES[h % ADJECTIVES.length]} ${NOUNS[(h >>> 8) % NOUNS.length]}`,
      priceFen: 990 + (hash32(this.seed, itemId, S_PRICE) % 99_000),
      comments: Math.floor(3 + 400 * u * u * u),
    }
  }
  /** Comment `index` (0-based) of an item. */
  comment(itemId: number, index: number): Comment {
    const userId = FIRST_USER_ID + (hash32(this.seed ^ itemId, index, S_AUTHOR) % this.users)
    return {
      commentId: itemId * 1000 + index,
      userId,
      nickname: this.nickname(userId),
      text: PHRASES[hash32(this.seed, itemId * 1000 + index, S_TEXT) % PHRASES.length] as string,
      time:
        COMMENT_EPOCH_MS + (hash32(this.seed, itemId * 1000 + index, S_TIME) % 31_536_000) * 1000,
    }
  }
  /** Author user ID of comment `index` of an item, without building the comment. */
  commentAuthor(itemId: number, index: number): number {
    return FIRST_USER_ID + (hash32(this.seed ^ itemId, index, S_AUTHOR) % this.users)
  }
  /** One page (1-based) of an item's comments; empty past the last page. */
  commentPage(itemId: number, page: number): readonly Comment[] {
    // Derived data, so a bounded cache is invisible but for speed: popular items repeat.
    const key = itemId * 4096 + page
    let hit = this.#pages.get(key)
    if (hit === undefined) {
      if (this.#pages.size >= 20_000) this.#pages.clear()
      this.#pages.set(key, (hit = Object.freeze(this.#commentPage(itemId, page))))
    }
    return hit
  }
  readonly #pages = new Map<number, readonly Comment[]>()
  #commentPage(itemId: number, page: number): Comment[] {
    const total = this.item(itemId).comments
    const out: Comment[] = []
    const start = (page - 1) * COMMENTS_PER_PAGE
    for (let i = start; i < Math.min(total, start + COMMENTS_PER_PAGE); i++)
      out.push(this.comment(itemId, i))
    return out
  }

  partner(index: number): Partner {
    const h1 = hash32(this.seed, index, S_KEY)
    const h2 = hash32(h1, index, S_KEY)
    const h3 = hash32(h2, index, S_KEY)
    return {
      index,
      keyId: `pk${index + 1}`,
      apiKey: `hgk_${hex(h1)}${hex(h2)}${hex(h3)}`,
      name: `${SYLLABLES[h1 & 31]}${SYLLABLES[(h1 >>> 5) & 31]} Marketing`,
    }
  }
  /** Partner index of an API key, or -1. */
  partnerOfKey(apiKey: string): number {
    for (let p = 0; p < this.partners; p++) if (this.partner(p).apiKey === apiKey) return p
    return -1
  }
  /** Index of the partner whose merchants the user bought from, or -1 (most users: none). */
  partnerOfCustomer(userId: number): number {
    const bucket = hash32(this.seed, userId, S_CUSTOMER) % CUSTOMER_BUCKETS
    return bucket < this.partners ? bucket : -1
  }
  /** Whether partner `index` may look up this user (a customer of one of its merchants). */
  isCustomerOf(index: number, userId: number): boolean {
    return this.hasUser(userId) && this.partnerOfCustomer(userId) === index
  }
  /** The `n`-th customer (0-based, wrapping) of a partner: a deterministic walk of its set. */
  customerOf(index: number, n: number): number {
    // Probe from a pseudo-random start; a partner owns ~1/10 of users, so this takes ~10 probes.
    let id = FIRST_USER_ID + (hash32(this.seed + index, n, S_CUSTOMER) % this.users)
    for (let i = 0; i < this.users; i++) {
      if (this.partnerOfCustomer(id) === index) return id
      id = id === this.lastUserId ? FIRST_USER_ID : id + 1
    }
    throw new RangeError(`partner ${index} has no customers`)
  }
  /** All customers of a partner, ascending (walks every user: for exports, not hot paths). */
  customersOf(index: number): number[] {
    const out: number[] = []
    for (let id = FIRST_USER_ID; id <= this.lastUserId; id++) {
      if (this.partnerOfCustomer(id) === index) out.push(id)
    }
    return out
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0')
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${name} must be a positive integer, got ${value}`)
  return value
}

/**
 * Creates a seeded population.
 * @example
 * const pop = createPopulation({ seed: 7, users: 1_000_000 })
 * pop.user(pop.lastUserId).phone // '13…', same on every run
 */
export function createPopulation(options: PopulationOptions = {}): Population {
  return new Population(options)
}

/** The JSON export for test harnesses (`harvestguard lab population`). */
export interface PopulationExport {
  readonly seed: number
  readonly users: { readonly first: number; readonly last: number; readonly count: number }
  readonly items: { readonly first: number; readonly last: number; readonly count: number }
  readonly accounts: readonly {
    readonly username: string
    readonly password: string
    readonly userId: number
  }[]
  readonly partners: readonly {
    readonly keyId: string
    readonly apiKey: string
    readonly name: string
    readonly customers: readonly number[]
  }[]
}

/** Builds the export: ID ranges, every account with its password, partners with customers. */
export function exportPopulation(pop: Population): PopulationExport {
  const accounts = []
  for (let id = FIRST_USER_ID; id <= pop.lastUserId; id++) {
    accounts.push({ username: pop.username(id), password: pop.password(id), userId: id })
  }
  const partners = []
  for (let p = 0; p < pop.partners; p++) {
    const { keyId, apiKey, name } = pop.partner(p)
    partners.push({ keyId, apiKey, name, customers: pop.customersOf(p) })
  }
  return {
    seed: pop.seed,
    users: { first: FIRST_USER_ID, last: pop.lastUserId, count: pop.users },
    items: { first: FIRST_ITEM_ID, last: pop.lastItemId, count: pop.items },
    accounts,
    partners,
  }
}
