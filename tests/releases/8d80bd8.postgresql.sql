--
-- PostgreSQL database dump
--

\restrict 7a4aMhwChbASsSflLWs49ZbFeUrEqrBIoAcfVzCGPS5keDfeAPcajNaZVSpAMKn

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: apikey; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.apikey (
    id integer NOT NULL,
    user_id integer NOT NULL,
    name character varying(255) NOT NULL,
    prefix character varying(255) NOT NULL,
    secret_hash character varying(255) NOT NULL,
    created_at timestamp without time zone NOT NULL,
    last_used_at timestamp without time zone,
    revoked_at timestamp without time zone
);


--
-- Name: apikey_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.apikey_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: apikey_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.apikey_id_seq OWNED BY public.apikey.id;


--
-- Name: creditmovement; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.creditmovement (
    id integer NOT NULL,
    user_id integer NOT NULL,
    created_at timestamp without time zone NOT NULL,
    kind character varying(255) NOT NULL,
    amount_nanousd bigint NOT NULL,
    stripe_payment character varying(255),
    reason text NOT NULL,
    actor character varying(255) NOT NULL
);


--
-- Name: creditmovement_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.creditmovement_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: creditmovement_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.creditmovement_id_seq OWNED BY public.creditmovement.id;


--
-- Name: deadletter; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.deadletter (
    id integer NOT NULL,
    created_at timestamp without time zone NOT NULL,
    user_id integer NOT NULL,
    total_tokens bigint NOT NULL,
    counted_tokens bigint NOT NULL,
    credit_nanousd bigint NOT NULL,
    record text NOT NULL,
    error text NOT NULL
);


--
-- Name: deadletter_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.deadletter_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: deadletter_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.deadletter_id_seq OWNED BY public.deadletter.id;


--
-- Name: invoice; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.invoice (
    id integer NOT NULL,
    stripe_id character varying(255) NOT NULL,
    user_id integer NOT NULL,
    amount_cents integer NOT NULL,
    paid_cents integer NOT NULL,
    currency character varying(255) NOT NULL,
    status character varying(255) NOT NULL,
    period_start timestamp without time zone,
    period_end timestamp without time zone,
    url character varying(255) NOT NULL,
    created_at timestamp without time zone NOT NULL,
    paid_at timestamp without time zone
);


--
-- Name: invoice_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.invoice_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: invoice_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.invoice_id_seq OWNED BY public.invoice.id;


--
-- Name: modelprice; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.modelprice (
    id integer NOT NULL,
    model character varying(255) NOT NULL,
    provider character varying(255) NOT NULL,
    display_name character varying(255) NOT NULL,
    input_per_mtok numeric(12,6) NOT NULL,
    output_per_mtok numeric(12,6) NOT NULL,
    cache_read_per_mtok numeric(12,6) NOT NULL,
    cache_write_per_mtok numeric(12,6) NOT NULL,
    max_output_tokens integer,
    cache_write_1h_per_mtok numeric(12,6),
    long_context text NOT NULL,
    tiers text NOT NULL
);


--
-- Name: modelprice_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.modelprice_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: modelprice_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.modelprice_id_seq OWNED BY public.modelprice.id;


--
-- Name: notice; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.notice (
    id integer NOT NULL,
    user_id integer NOT NULL,
    kind character varying(255) NOT NULL,
    period character varying(255) NOT NULL,
    sent_at timestamp without time zone NOT NULL
);


--
-- Name: notice_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.notice_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: notice_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.notice_id_seq OWNED BY public.notice.id;


--
-- Name: ownedobject; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.ownedobject (
    id integer NOT NULL,
    object_id character varying(255) NOT NULL,
    provider character varying(255) NOT NULL,
    user_id integer NOT NULL,
    created_at timestamp without time zone NOT NULL
);


--
-- Name: ownedobject_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.ownedobject_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: ownedobject_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.ownedobject_id_seq OWNED BY public.ownedobject.id;


--
-- Name: plan; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.plan (
    id integer NOT NULL,
    name character varying(255) NOT NULL,
    requests_per_minute integer NOT NULL,
    monthly_tokens bigint,
    price_cents integer,
    description text NOT NULL,
    allowed_models text NOT NULL,
    stripe_product character varying(255) NOT NULL,
    stripe_price character varying(255) NOT NULL,
    public boolean NOT NULL,
    markup_bp integer NOT NULL,
    allowance_mode character varying(255) NOT NULL,
    reference_nanousd bigint
);


--
-- Name: plan_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.plan_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: plan_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.plan_id_seq OWNED BY public.plan.id;


--
-- Name: refusal; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.refusal (
    id integer NOT NULL,
    user_id integer NOT NULL,
    month character varying(255) NOT NULL,
    reason character varying(255) NOT NULL,
    count bigint NOT NULL
);


--
-- Name: refusal_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.refusal_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: refusal_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.refusal_id_seq OWNED BY public.refusal.id;


--
-- Name: schemaversion; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schemaversion (
    version integer NOT NULL,
    name character varying(255) NOT NULL,
    applied_at timestamp without time zone NOT NULL
);


--
-- Name: sellprice; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sellprice (
    id integer NOT NULL,
    model character varying(255) NOT NULL,
    plan_id integer,
    input bigint,
    output bigint,
    cache_read bigint,
    cache_write bigint,
    cache_write_1h bigint
);


--
-- Name: sellprice_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.sellprice_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: sellprice_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.sellprice_id_seq OWNED BY public.sellprice.id;


--
-- Name: stripeevent; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.stripeevent (
    id integer NOT NULL,
    event_id character varying(255) NOT NULL,
    type character varying(255) NOT NULL,
    received_at timestamp without time zone NOT NULL
);


--
-- Name: stripeevent_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.stripeevent_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: stripeevent_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.stripeevent_id_seq OWNED BY public.stripeevent.id;


--
-- Name: subscription; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.subscription (
    id integer NOT NULL,
    user_id integer NOT NULL,
    stripe_customer character varying(255) NOT NULL,
    stripe_subscription character varying(255) NOT NULL,
    status character varying(255) NOT NULL,
    plan_id integer,
    current_period_end timestamp without time zone,
    cancel_at_period_end boolean NOT NULL,
    next_plan_id integer,
    past_due_since timestamp without time zone,
    downgraded_at timestamp without time zone,
    custom_price_cents integer,
    invoiced_outside boolean NOT NULL,
    alerts boolean NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    busy_until timestamp without time zone,
    realign_at timestamp without time zone
);


--
-- Name: subscription_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.subscription_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: subscription_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.subscription_id_seq OWNED BY public.subscription.id;


--
-- Name: toolprice; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.toolprice (
    id integer NOT NULL,
    provider character varying(255) NOT NULL,
    tool character varying(255) NOT NULL,
    model character varying(255) NOT NULL,
    usd_per_call numeric(12,6) NOT NULL
);


--
-- Name: toolprice_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.toolprice_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: toolprice_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.toolprice_id_seq OWNED BY public.toolprice.id;


--
-- Name: usagerecord; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.usagerecord (
    id integer NOT NULL,
    created_at timestamp without time zone NOT NULL,
    request_id character varying(255) NOT NULL,
    user_id integer NOT NULL,
    api_key_id integer,
    provider character varying(255) NOT NULL,
    endpoint character varying(255) NOT NULL,
    api character varying(255) NOT NULL,
    model character varying(255) NOT NULL,
    status integer NOT NULL,
    streamed boolean NOT NULL,
    latency_ms integer NOT NULL,
    ttfb_ms integer,
    input_tokens bigint NOT NULL,
    cache_read_tokens bigint NOT NULL,
    cache_write_tokens bigint NOT NULL,
    output_tokens bigint NOT NULL,
    reasoning_tokens bigint NOT NULL,
    total_tokens bigint NOT NULL,
    tool_calls text NOT NULL,
    cost_nanousd bigint NOT NULL,
    charge_nanousd bigint NOT NULL,
    counted_tokens bigint NOT NULL,
    credit_nanousd bigint NOT NULL,
    priced boolean NOT NULL,
    complete boolean NOT NULL,
    estimated boolean NOT NULL
);


--
-- Name: usagerecord_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.usagerecord_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: usagerecord_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.usagerecord_id_seq OWNED BY public.usagerecord.id;


--
-- Name: user; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public."user" (
    id integer NOT NULL,
    email character varying(255) NOT NULL,
    password_hash character varying(255) NOT NULL,
    role character varying(255) NOT NULL,
    plan_id integer NOT NULL,
    active boolean NOT NULL,
    created_at timestamp without time zone NOT NULL,
    session_epoch integer NOT NULL,
    email_verified_at timestamp without time zone,
    allowance_month character varying(255) NOT NULL,
    allowance_banked bigint NOT NULL,
    allowance_since timestamp without time zone,
    spend_credit boolean NOT NULL,
    topup_below_cents integer,
    topup_cents integer,
    low_balance_mailed boolean NOT NULL
);


--
-- Name: user_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.user_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: user_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.user_id_seq OWNED BY public."user".id;


--
-- Name: apikey id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.apikey ALTER COLUMN id SET DEFAULT nextval('public.apikey_id_seq'::regclass);


--
-- Name: creditmovement id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.creditmovement ALTER COLUMN id SET DEFAULT nextval('public.creditmovement_id_seq'::regclass);


--
-- Name: deadletter id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deadletter ALTER COLUMN id SET DEFAULT nextval('public.deadletter_id_seq'::regclass);


--
-- Name: invoice id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.invoice ALTER COLUMN id SET DEFAULT nextval('public.invoice_id_seq'::regclass);


--
-- Name: modelprice id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.modelprice ALTER COLUMN id SET DEFAULT nextval('public.modelprice_id_seq'::regclass);


--
-- Name: notice id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.notice ALTER COLUMN id SET DEFAULT nextval('public.notice_id_seq'::regclass);


--
-- Name: ownedobject id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ownedobject ALTER COLUMN id SET DEFAULT nextval('public.ownedobject_id_seq'::regclass);


--
-- Name: plan id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.plan ALTER COLUMN id SET DEFAULT nextval('public.plan_id_seq'::regclass);


--
-- Name: refusal id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.refusal ALTER COLUMN id SET DEFAULT nextval('public.refusal_id_seq'::regclass);


--
-- Name: sellprice id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sellprice ALTER COLUMN id SET DEFAULT nextval('public.sellprice_id_seq'::regclass);


--
-- Name: stripeevent id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.stripeevent ALTER COLUMN id SET DEFAULT nextval('public.stripeevent_id_seq'::regclass);


--
-- Name: subscription id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.subscription ALTER COLUMN id SET DEFAULT nextval('public.subscription_id_seq'::regclass);


--
-- Name: toolprice id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.toolprice ALTER COLUMN id SET DEFAULT nextval('public.toolprice_id_seq'::regclass);


--
-- Name: usagerecord id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.usagerecord ALTER COLUMN id SET DEFAULT nextval('public.usagerecord_id_seq'::regclass);


--
-- Name: user id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public."user" ALTER COLUMN id SET DEFAULT nextval('public.user_id_seq'::regclass);


--
-- Data for Name: apikey; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.apikey (id, user_id, name, prefix, secret_hash, created_at, last_used_at, revoked_at) FROM stdin;
1	5	prod	gw-7SO2KEcX	837ea005fe1af14e91e00c276f8faa862e3178caf78028f929dd790ab8491128	2026-12-05 10:51:34.503937	\N	\N
2	5	old	gw-7xemBkM6	679a06b90899e55a41f0c68e708f7411c8068d8cdacdd9289e74a408cb05fd6b	2026-12-05 10:51:35.133082	\N	2026-12-05 10:51:35.778252
3	6	ci	gw-ddDHW8VR	67172fc707d1a908a0db4b176d3d55f5f6dbd298755b9cda5bf3d32b3d227334	2026-12-05 10:51:37.142496	\N	\N
4	7	laptop	gw-8qluBhtv	b3ddec9b31a565a21d5b6b2fb4f32569da41baf9acd6b54be1c1f65304210a63	2026-12-05 10:51:38.518637	\N	\N
5	8	batch	gw-7hEaO4ox	961e86e3ed2238a482027ff954b6974f47b25844f76debc73a710a5dfdfb252f	2026-12-05 10:51:39.881739	\N	\N
\.


--
-- Data for Name: creditmovement; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.creditmovement (id, user_id, created_at, kind, amount_nanousd, stripe_payment, reason, actor) FROM stdin;
\.


--
-- Data for Name: deadletter; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.deadletter (id, created_at, user_id, total_tokens, counted_tokens, credit_nanousd, record, error) FROM stdin;
\.


--
-- Data for Name: invoice; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.invoice (id, stripe_id, user_id, amount_cents, paid_cents, currency, status, period_start, period_end, url, created_at, paid_at) FROM stdin;
\.


--
-- Data for Name: modelprice; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.modelprice (id, model, provider, display_name, input_per_mtok, output_per_mtok, cache_read_per_mtok, cache_write_per_mtok, max_output_tokens, cache_write_1h_per_mtok, long_context, tiers) FROM stdin;
1	claude-opus-5	anthropic	Claude Opus 5	5.000000	25.000000	0.500000	6.250000	128000	10.000000		
2	claude-sonnet-5	anthropic	Claude Sonnet 5	3.000000	15.000000	0.300000	3.750000	64000	6.000000		
3	claude-opus-4-8	anthropic	Claude Opus 4.8	5.000000	25.000000	0.500000	6.250000	128000	10.000000		
4	claude-opus-4-7	anthropic	Claude Opus 4.7	5.000000	25.000000	0.500000	6.250000	128000	10.000000		
5	claude-opus-4-6	anthropic	Claude Opus 4.6	5.000000	25.000000	0.500000	6.250000	128000	10.000000		
6	claude-sonnet-4-6	anthropic	Claude Sonnet 4.6	3.000000	15.000000	0.300000	3.750000	64000	6.000000		
7	claude-opus-4-5	anthropic	Claude Opus 4.5	5.000000	25.000000	0.500000	6.250000	64000	10.000000		
8	claude-sonnet-4-5	anthropic	Claude Sonnet 4.5	3.000000	15.000000	0.300000	3.750000	64000	6.000000	{"above": 200000, "cache_read": 0.6, "cache_write": 7.5, "cache_write_1h": 12.0, "input": 6.0, "output": 22.5}	
9	claude-haiku-4-5	anthropic	Claude Haiku 4.5	1.000000	5.000000	0.100000	1.250000	64000	2.000000		
10	claude-opus-4-1	anthropic	Claude Opus 4.1	15.000000	75.000000	1.500000	18.750000	32000	30.000000		
11	claude-opus-4	anthropic	Claude Opus 4	15.000000	75.000000	1.500000	18.750000	32000	30.000000		
12	claude-sonnet-4	anthropic	Claude Sonnet 4	3.000000	15.000000	0.300000	3.750000	64000	6.000000	{"above": 200000, "cache_read": 0.6, "cache_write": 7.5, "cache_write_1h": 12.0, "input": 6.0, "output": 22.5}	
13	claude-3-7-sonnet	anthropic	Claude Sonnet 3.7	3.000000	15.000000	0.300000	3.750000	64000	6.000000		
14	claude-3-5-haiku	anthropic	Claude Haiku 3.5	0.800000	4.000000	0.080000	1.000000	8192	1.600000		
15	claude-3-haiku	anthropic	Claude Haiku 3	0.250000	1.250000	0.030000	0.300000	4096	0.500000		
16	claude-3-opus	anthropic	Claude 3 Opus	15.000000	75.000000	1.500000	18.750000	4096	30.000000		
17	claude-3-5-sonnet	anthropic	Claude 3.5 Sonnet	3.000000	15.000000	0.300000	3.750000	8192	6.000000		
18	gpt-5.5	openai	GPT-5.5	1.250000	10.000000	0.125000	0.000000	128000	\N		{"flex": {"cache_read": 0.0625, "input": 0.625, "output": 5.0}, "priority": {"cache_read": 0.25, "input": 2.5, "output": 20.0}}
19	gpt-5.4-mini	openai	GPT-5.4 mini	0.250000	2.000000	0.025000	0.000000	128000	\N		{"flex": {"cache_read": 0.0125, "input": 0.125, "output": 1.0}, "priority": {"cache_read": 0.045, "input": 0.45, "output": 3.6}}
20	gpt-5.1	openai	GPT-5.1	1.250000	10.000000	0.125000	0.000000	128000	\N		{"flex": {"cache_read": 0.0625, "input": 0.625, "output": 5.0}, "priority": {"cache_read": 0.25, "input": 2.5, "output": 20.0}}
21	gpt-5	openai	GPT-5	1.250000	10.000000	0.125000	0.000000	128000	\N		{"flex": {"cache_read": 0.0625, "input": 0.625, "output": 5.0}, "priority": {"cache_read": 0.25, "input": 2.5, "output": 20.0}}
22	gpt-5-mini	openai	GPT-5 mini	0.250000	2.000000	0.025000	0.000000	128000	\N		{"flex": {"cache_read": 0.0125, "input": 0.125, "output": 1.0}, "priority": {"cache_read": 0.045, "input": 0.45, "output": 3.6}}
23	gpt-5-nano	openai	GPT-5 nano	0.050000	0.400000	0.005000	0.000000	128000	\N		{"flex": {"cache_read": 0.0025, "input": 0.025, "output": 0.2}}
24	gpt-4.1	openai	GPT-4.1	2.000000	8.000000	0.500000	0.000000	32768	\N		{"priority": {"cache_read": 0.875, "input": 3.5, "output": 14.0}}
25	gpt-4.1-mini	openai	GPT-4.1 mini	0.400000	1.600000	0.100000	0.000000	32768	\N		{"priority": {"cache_read": 0.175, "input": 0.7, "output": 2.8}}
26	gpt-4.1-nano	openai	GPT-4.1 nano	0.100000	0.400000	0.025000	0.000000	32768	\N		{"priority": {"cache_read": 0.05, "input": 0.2, "output": 0.8}}
27	gpt-4o	openai	GPT-4o	2.500000	10.000000	1.250000	0.000000	16384	\N		{"priority": {"cache_read": 2.125, "input": 4.25, "output": 17.0}}
28	gpt-4o-mini	openai	GPT-4o mini	0.150000	0.600000	0.075000	0.000000	16384	\N		{"priority": {"cache_read": 0.125, "input": 0.25, "output": 1.0}}
29	o3	openai	o3	2.000000	8.000000	0.500000	0.000000	100000	\N		{"flex": {"cache_read": 0.25, "input": 1.0, "output": 4.0}, "priority": {"cache_read": 0.875, "input": 3.5, "output": 14.0}}
30	o4-mini	openai	o4-mini	1.100000	4.400000	0.275000	0.000000	100000	\N		{"flex": {"cache_read": 0.1375, "input": 0.55, "output": 2.2}, "priority": {"cache_read": 0.5, "input": 2.0, "output": 8.0}}
31	o3-mini	openai	o3-mini	1.100000	4.400000	0.550000	0.000000	100000	\N		
32	o1	openai	o1	15.000000	60.000000	7.500000	0.000000	100000	\N		
33	text-embedding-3-small	openai	Text Embedding 3 small	0.020000	0.000000	0.000000	0.000000	\N	\N		
34	text-embedding-3-large	openai	Text Embedding 3 large	0.130000	0.000000	0.000000	0.000000	\N	\N		
35	text-embedding-ada-002	openai	Text Embedding Ada 002	0.100000	0.000000	0.000000	0.000000	\N	\N		
36	gpt-5-pro	openai	GPT-5 pro	15.000000	120.000000	0.000000	0.000000	272000	\N		
37	o3-pro	openai	o3-pro	20.000000	80.000000	0.000000	0.000000	100000	\N		
38	o1-pro	openai	o1-pro	150.000000	600.000000	0.000000	0.000000	100000	\N		
39	o1-mini	openai	o1-mini	1.100000	4.400000	0.550000	0.000000	65536	\N		
40	gpt-4-turbo	openai	GPT-4 Turbo	10.000000	30.000000	0.000000	0.000000	4096	\N		
41	gpt-3.5-turbo	openai	GPT-3.5 Turbo	0.500000	1.500000	0.000000	0.000000	4096	\N		
42	gemini-3.5-flash	gemini	Gemini 3.5 Flash	0.300000	2.500000	0.030000	0.000000	65536	\N		
43	gemini-3.1-pro-preview	gemini	Gemini 3.1 Pro Preview	2.000000	12.000000	0.200000	0.000000	65536	\N	{"above": 200000, "cache_read": 0.4, "input": 4.0, "output": 18.0}	
44	gemini-3-pro-preview	gemini	Gemini 3 Pro Preview	2.000000	12.000000	0.200000	0.000000	65536	\N	{"above": 200000, "cache_read": 0.4, "input": 4.0, "output": 18.0}	
45	gemini-3-flash-preview	gemini	Gemini 3 Flash Preview	0.500000	3.000000	0.050000	0.000000	65536	\N		
46	gemini-2.5-pro	gemini	Gemini 2.5 Pro	1.250000	10.000000	0.125000	0.000000	65536	\N	{"above": 200000, "cache_read": 0.25, "input": 2.5, "output": 15.0}	
47	gemini-2.5-flash	gemini	Gemini 2.5 Flash	0.300000	2.500000	0.030000	0.000000	65536	\N		
48	gemini-2.5-flash-lite	gemini	Gemini 2.5 Flash-Lite	0.100000	0.400000	0.010000	0.000000	65536	\N		
49	gemini-2.0-flash	gemini	Gemini 2.0 Flash	0.100000	0.400000	0.025000	0.000000	8192	\N		
50	gemini-2.0-flash-lite	gemini	Gemini 2.0 Flash-Lite	0.075000	0.300000	0.000000	0.000000	8192	\N		
51	gemini-embedding-001	gemini	Gemini Embedding	0.150000	0.000000	0.000000	0.000000	\N	\N		
\.


--
-- Data for Name: notice; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.notice (id, user_id, kind, period, sent_at) FROM stdin;
\.


--
-- Data for Name: ownedobject; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.ownedobject (id, object_id, provider, user_id, created_at) FROM stdin;
\.


--
-- Data for Name: plan; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.plan (id, name, requests_per_minute, monthly_tokens, price_cents, description, allowed_models, stripe_product, stripe_price, public, markup_bp, allowance_mode, reference_nanousd) FROM stdin;
1	Explorer	20	100000	0	Free: try every provider behind one endpoint, on their inexpensive models.	["claude-3-5-haiku", "claude-haiku-4-5", "gemini-2.0-flash", "gemini-2.0-flash-lite", "gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-embedding-001", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o-mini", "gpt-5-mini", "gpt-5-nano", "text-embedding-3-small"]			t	2500	weighted	5000000000
2	Startup	60	1000000	2900	For a product's first customers.				t	2500	weighted	5000000000
3	Growth	200	10000000	9900	For products in production.				t	2500	weighted	5000000000
4	Enterprise	1000	\N	\N	Unlimited tokens at a custom price.				t	2500	raw	\N
\.


--
-- Data for Name: refusal; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.refusal (id, user_id, month, reason, count) FROM stdin;
\.


--
-- Data for Name: schemaversion; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.schemaversion (version, name, applied_at) FROM stdin;
1	baseline (4035676)	2026-12-05 10:51:32.631627
2	billing, sign-in, exact money (7f3cf9a)	2026-12-05 10:51:32.631656
3	existing customers verified	2026-12-05 10:51:32.631666
4	usage dead letters	2026-12-05 10:51:32.631674
5	public plans	2026-12-05 10:51:32.631681
6	billing changes claimed per customer	2026-12-05 10:51:32.631688
7	one-hour cache writes and long-context prices	2026-12-05 10:51:32.631694
8	billing anchored to the calendar month	2026-12-05 10:51:32.631701
9	processing tier prices	2026-12-05 10:51:32.631708
10	sell prices, weighted allowances, prepaid credit	2026-12-05 10:51:32.631715
11	the API a call came on (the unified API)	2026-12-05 10:51:32.631721
\.


--
-- Data for Name: sellprice; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.sellprice (id, model, plan_id, input, output, cache_read, cache_write, cache_write_1h) FROM stdin;
\.


--
-- Data for Name: stripeevent; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.stripeevent (id, event_id, type, received_at) FROM stdin;
\.


--
-- Data for Name: subscription; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.subscription (id, user_id, stripe_customer, stripe_subscription, status, plan_id, current_period_end, cancel_at_period_end, next_plan_id, past_due_since, downgraded_at, custom_price_cents, invoiced_outside, alerts, updated_at, busy_until, realign_at) FROM stdin;
1	5	cus_fixture	sub_fixture	active	2	2027-01-15 09:30:00	f	\N	\N	\N	\N	f	t	2026-12-05 10:51:40.311811	\N	\N
\.


--
-- Data for Name: toolprice; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.toolprice (id, provider, tool, model, usd_per_call) FROM stdin;
1	anthropic	web_search		0.010000
2	anthropic	web_fetch		0.000000
3	openai	web_search		0.010000
4	openai	web_search	gpt-4o	0.025000
5	openai	web_search	gpt-4o-mini	0.025000
6	openai	web_search	gpt-4.1	0.025000
7	openai	web_search	gpt-4.1-mini	0.025000
8	openai	web_search	gpt-4.1-nano	0.025000
9	openai	file_search		0.002500
10	openai	code_interpreter		0.030000
11	openai	code_interpreter_4g		0.120000
12	openai	code_interpreter_16g		0.480000
13	openai	code_interpreter_64g		1.920000
14	openai	image_generation		0.040000
15	gemini	google_search		0.014000
\.


--
-- Data for Name: usagerecord; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.usagerecord (id, created_at, request_id, user_id, api_key_id, provider, endpoint, api, model, status, streamed, latency_ms, ttfb_ms, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, total_tokens, tool_calls, cost_nanousd, charge_nanousd, counted_tokens, credit_nanousd, priced, complete, estimated) FROM stdin;
1	2026-12-05 10:41:40.281867	fixture-0	5	1	openai	chat	native	gpt-4o-mini	200	f	900	300	1200	0	0	300	0	1500		360000	0	0	0	t	t	f
2	2026-12-05 10:40:40.281867	fixture-1	5	1	anthropic	messages	native	claude-haiku-4-5	200	f	900	300	2000	0	0	500	0	2500		4500000	0	0	0	t	t	f
3	2026-12-05 10:39:40.281867	fixture-2	5	1	gemini	generateContent	native	gemini-2.5-flash	200	f	900	300	800	0	0	200	0	1000		740000	0	0	0	t	t	f
4	2026-12-05 10:38:40.281867	fixture-3	6	3	openai	chat	native	gpt-4o-mini	200	f	900	300	1200	0	0	300	0	1500		360000	0	0	0	t	t	f
5	2026-12-05 10:37:40.281867	fixture-4	6	3	anthropic	messages	native	claude-haiku-4-5	200	f	900	300	2000	0	0	500	0	2500		4500000	0	0	0	t	t	f
6	2026-12-05 10:36:40.281867	fixture-5	6	3	gemini	generateContent	native	gemini-2.5-flash	200	f	900	300	800	0	0	200	0	1000		740000	0	0	0	t	t	f
7	2026-12-05 10:35:40.281867	fixture-6	7	4	openai	chat	native	gpt-4o-mini	200	f	900	300	1200	0	0	300	0	1500		360000	0	0	0	t	t	f
8	2026-12-05 10:34:40.281867	fixture-7	7	4	anthropic	messages	native	claude-haiku-4-5	200	f	900	300	2000	0	0	500	0	2500		4500000	0	0	0	t	t	f
9	2026-12-05 10:33:40.281867	fixture-8	7	4	gemini	generateContent	native	gemini-2.5-flash	200	f	900	300	800	0	0	200	0	1000		740000	0	0	0	t	t	f
10	2026-12-05 10:32:40.281867	fixture-9	8	5	openai	chat	native	gpt-4o-mini	200	f	900	300	1200	0	0	300	0	1500		360000	0	0	0	t	t	f
11	2026-12-05 10:31:40.281867	fixture-10	8	5	anthropic	messages	native	claude-haiku-4-5	200	f	900	300	2000	0	0	500	0	2500		4500000	0	0	0	t	t	f
12	2026-12-05 10:30:40.281867	fixture-11	8	5	gemini	generateContent	native	gemini-2.5-flash	200	f	900	300	800	0	0	200	0	1000		740000	0	0	0	t	t	f
\.


--
-- Data for Name: user; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public."user" (id, email, password_hash, role, plan_id, active, created_at, session_epoch, email_verified_at, allowance_month, allowance_banked, allowance_since, spend_credit, topup_below_cents, topup_cents, low_balance_mailed) FROM stdin;
1	admin@llm-gateway.io	$argon2id$v=19$m=65536,t=3,p=4$JkNPU8LuLcR9y/4sx5vlMg$tIo7wqz3nJK4CcNsWN72qJnJBOZevVuH+iHaK3bATak	admin	4	t	2026-12-05 10:51:32.735216	0	2026-12-05 10:51:32.735235		0	\N	f	\N	\N	f
2	demo@startup.ai	$argon2id$v=19$m=65536,t=3,p=4$Kg5ZP6Y4zPs8uWK1F6Ia8Q$BAzta2xrhG47VwXMzAo1Aabh3ZTG/L+2XcoBbsd6iss	user	2	t	2026-12-05 10:51:32.837017	0	2026-12-05 10:51:32.837034		0	\N	f	\N	\N	f
3	dev@enterprise.com	$argon2id$v=19$m=65536,t=3,p=4$4v4lFUCo/woKRRMbF4UDVw$sF5q74iR31CPKkaZGwPR/UBRj/F/mWV8SMPKKETKNUo	user	3	t	2026-12-05 10:51:32.947509	0	2026-12-05 10:51:32.947527		0	\N	f	\N	\N	f
4	test@free.com	$argon2id$v=19$m=65536,t=3,p=4$+OcZDPLo3cBCGK9BDLSxug$tiJoNmSdBS+MGHHk8GO1yzPwkcZacl/g5geWXVDGuvU	user	1	t	2026-12-05 10:51:33.062228	0	2026-12-05 10:51:33.062246		0	\N	f	\N	\N	f
5	alice@shop.example	$argon2id$v=19$m=65536,t=3,p=4$3AgQd/hC+7I3bdtLf4qNVg$nwBfuIBzNulT/ibzR7dO7ncmXFmnDQUbdIllf91Fbsk	user	2	t	2026-12-05 10:51:33.833284	0	2026-12-05 10:51:33.833238		0	\N	f	\N	\N	f
6	bob@lab.example	$argon2id$v=19$m=65536,t=3,p=4$MnuBEHcGlmBxhEsh2gVtFQ$C1ae++G65I2CG3eBnMlfdz2mcpfaXZcedaWs5XZManQ	user	3	t	2026-12-05 10:51:36.50817	0	2026-12-05 10:51:36.508086		0	\N	f	\N	\N	f
7	carol@free.example	$argon2id$v=19$m=65536,t=3,p=4$h/wsdC9xNv7Hb1QcTLaR1Q$gTTT6Vzv8/iO0HGTT5bPwTyEtDL+KFDPvmf3tsEDmrs	user	1	t	2026-12-05 10:51:37.892887	0	2026-12-05 10:51:37.892842		0	\N	f	\N	\N	f
8	dave@corp.example	$argon2id$v=19$m=65536,t=3,p=4$QKVetl9OmTT7Mp3Z8HdpJA$Br4ERRNpmsZA6LZKMt+bk1U9YEcprSDHXqxzT3v5/U0	user	4	t	2026-12-05 10:51:39.243175	0	2026-12-05 10:51:39.243129		0	\N	f	\N	\N	f
\.


--
-- Name: apikey_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.apikey_id_seq', 5, true);


--
-- Name: creditmovement_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.creditmovement_id_seq', 1, false);


--
-- Name: deadletter_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.deadletter_id_seq', 1, false);


--
-- Name: invoice_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.invoice_id_seq', 1, false);


--
-- Name: modelprice_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.modelprice_id_seq', 51, true);


--
-- Name: notice_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.notice_id_seq', 1, false);


--
-- Name: ownedobject_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.ownedobject_id_seq', 1, false);


--
-- Name: plan_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.plan_id_seq', 4, true);


--
-- Name: refusal_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.refusal_id_seq', 1, false);


--
-- Name: sellprice_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.sellprice_id_seq', 1, false);


--
-- Name: stripeevent_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.stripeevent_id_seq', 1, false);


--
-- Name: subscription_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.subscription_id_seq', 1, true);


--
-- Name: toolprice_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.toolprice_id_seq', 15, true);


--
-- Name: usagerecord_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.usagerecord_id_seq', 12, true);


--
-- Name: user_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.user_id_seq', 8, true);


--
-- Name: apikey apikey_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.apikey
    ADD CONSTRAINT apikey_pkey PRIMARY KEY (id);


--
-- Name: creditmovement creditmovement_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.creditmovement
    ADD CONSTRAINT creditmovement_pkey PRIMARY KEY (id);


--
-- Name: deadletter deadletter_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deadletter
    ADD CONSTRAINT deadletter_pkey PRIMARY KEY (id);


--
-- Name: invoice invoice_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.invoice
    ADD CONSTRAINT invoice_pkey PRIMARY KEY (id);


--
-- Name: modelprice modelprice_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.modelprice
    ADD CONSTRAINT modelprice_pkey PRIMARY KEY (id);


--
-- Name: notice notice_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.notice
    ADD CONSTRAINT notice_pkey PRIMARY KEY (id);


--
-- Name: ownedobject ownedobject_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ownedobject
    ADD CONSTRAINT ownedobject_pkey PRIMARY KEY (id);


--
-- Name: plan plan_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.plan
    ADD CONSTRAINT plan_pkey PRIMARY KEY (id);


--
-- Name: refusal refusal_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.refusal
    ADD CONSTRAINT refusal_pkey PRIMARY KEY (id);


--
-- Name: schemaversion schemaversion_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schemaversion
    ADD CONSTRAINT schemaversion_pkey PRIMARY KEY (version);


--
-- Name: sellprice sellprice_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sellprice
    ADD CONSTRAINT sellprice_pkey PRIMARY KEY (id);


--
-- Name: stripeevent stripeevent_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.stripeevent
    ADD CONSTRAINT stripeevent_pkey PRIMARY KEY (id);


--
-- Name: subscription subscription_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.subscription
    ADD CONSTRAINT subscription_pkey PRIMARY KEY (id);


--
-- Name: toolprice toolprice_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.toolprice
    ADD CONSTRAINT toolprice_pkey PRIMARY KEY (id);


--
-- Name: usagerecord usagerecord_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.usagerecord
    ADD CONSTRAINT usagerecord_pkey PRIMARY KEY (id);


--
-- Name: user user_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public."user"
    ADD CONSTRAINT user_pkey PRIMARY KEY (id);


--
-- Name: apikey_prefix; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX apikey_prefix ON public.apikey USING btree (prefix);


--
-- Name: apikey_secret_hash; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX apikey_secret_hash ON public.apikey USING btree (secret_hash);


--
-- Name: apikey_user_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX apikey_user_id ON public.apikey USING btree (user_id);


--
-- Name: creditmovement_created_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX creditmovement_created_at ON public.creditmovement USING btree (created_at);


--
-- Name: creditmovement_stripe_payment; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX creditmovement_stripe_payment ON public.creditmovement USING btree (stripe_payment);


--
-- Name: creditmovement_user_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX creditmovement_user_id ON public.creditmovement USING btree (user_id);


--
-- Name: deadletter_created_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX deadletter_created_at ON public.deadletter USING btree (created_at);


--
-- Name: invoice_stripe_id; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX invoice_stripe_id ON public.invoice USING btree (stripe_id);


--
-- Name: invoice_user_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX invoice_user_id ON public.invoice USING btree (user_id);


--
-- Name: modelprice_model; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX modelprice_model ON public.modelprice USING btree (model);


--
-- Name: notice_user_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX notice_user_id ON public.notice USING btree (user_id);


--
-- Name: notice_user_id_kind_period; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX notice_user_id_kind_period ON public.notice USING btree (user_id, kind, period);


--
-- Name: ownedobject_object_id; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX ownedobject_object_id ON public.ownedobject USING btree (object_id);


--
-- Name: ownedobject_user_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ownedobject_user_id ON public.ownedobject USING btree (user_id);


--
-- Name: plan_name; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX plan_name ON public.plan USING btree (name);


--
-- Name: refusal_user_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX refusal_user_id ON public.refusal USING btree (user_id);


--
-- Name: refusal_user_id_month_reason; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX refusal_user_id_month_reason ON public.refusal USING btree (user_id, month, reason);


--
-- Name: sellprice_model_plan_id; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX sellprice_model_plan_id ON public.sellprice USING btree (model, plan_id);


--
-- Name: sellprice_plan_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sellprice_plan_id ON public.sellprice USING btree (plan_id);


--
-- Name: stripeevent_event_id; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX stripeevent_event_id ON public.stripeevent USING btree (event_id);


--
-- Name: subscription_next_plan_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX subscription_next_plan_id ON public.subscription USING btree (next_plan_id);


--
-- Name: subscription_plan_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX subscription_plan_id ON public.subscription USING btree (plan_id);


--
-- Name: subscription_user_id; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX subscription_user_id ON public.subscription USING btree (user_id);


--
-- Name: toolprice_provider_tool_model; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX toolprice_provider_tool_model ON public.toolprice USING btree (provider, tool, model);


--
-- Name: usagerecord_api_key_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX usagerecord_api_key_id ON public.usagerecord USING btree (api_key_id);


--
-- Name: usagerecord_created_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX usagerecord_created_at ON public.usagerecord USING btree (created_at);


--
-- Name: usagerecord_user_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX usagerecord_user_id ON public.usagerecord USING btree (user_id);


--
-- Name: usagerecord_user_id_created_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX usagerecord_user_id_created_at ON public.usagerecord USING btree (user_id, created_at);


--
-- Name: user_email; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX user_email ON public."user" USING btree (email);


--
-- Name: user_plan_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX user_plan_id ON public."user" USING btree (plan_id);


--
-- Name: apikey apikey_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.apikey
    ADD CONSTRAINT apikey_user_id_fkey FOREIGN KEY (user_id) REFERENCES public."user"(id) ON DELETE CASCADE;


--
-- Name: creditmovement creditmovement_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.creditmovement
    ADD CONSTRAINT creditmovement_user_id_fkey FOREIGN KEY (user_id) REFERENCES public."user"(id) ON DELETE CASCADE;


--
-- Name: invoice invoice_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.invoice
    ADD CONSTRAINT invoice_user_id_fkey FOREIGN KEY (user_id) REFERENCES public."user"(id) ON DELETE CASCADE;


--
-- Name: notice notice_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.notice
    ADD CONSTRAINT notice_user_id_fkey FOREIGN KEY (user_id) REFERENCES public."user"(id) ON DELETE CASCADE;


--
-- Name: ownedobject ownedobject_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ownedobject
    ADD CONSTRAINT ownedobject_user_id_fkey FOREIGN KEY (user_id) REFERENCES public."user"(id) ON DELETE CASCADE;


--
-- Name: refusal refusal_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.refusal
    ADD CONSTRAINT refusal_user_id_fkey FOREIGN KEY (user_id) REFERENCES public."user"(id) ON DELETE CASCADE;


--
-- Name: sellprice sellprice_plan_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sellprice
    ADD CONSTRAINT sellprice_plan_id_fkey FOREIGN KEY (plan_id) REFERENCES public.plan(id) ON DELETE CASCADE;


--
-- Name: subscription subscription_next_plan_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.subscription
    ADD CONSTRAINT subscription_next_plan_id_fkey FOREIGN KEY (next_plan_id) REFERENCES public.plan(id);


--
-- Name: subscription subscription_plan_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.subscription
    ADD CONSTRAINT subscription_plan_id_fkey FOREIGN KEY (plan_id) REFERENCES public.plan(id);


--
-- Name: subscription subscription_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.subscription
    ADD CONSTRAINT subscription_user_id_fkey FOREIGN KEY (user_id) REFERENCES public."user"(id) ON DELETE CASCADE;


--
-- Name: usagerecord usagerecord_api_key_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.usagerecord
    ADD CONSTRAINT usagerecord_api_key_id_fkey FOREIGN KEY (api_key_id) REFERENCES public.apikey(id) ON DELETE SET NULL;


--
-- Name: usagerecord usagerecord_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.usagerecord
    ADD CONSTRAINT usagerecord_user_id_fkey FOREIGN KEY (user_id) REFERENCES public."user"(id) ON DELETE CASCADE;


--
-- Name: user user_plan_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public."user"
    ADD CONSTRAINT user_plan_id_fkey FOREIGN KEY (plan_id) REFERENCES public.plan(id);


--
-- PostgreSQL database dump complete
--

\unrestrict 7a4aMhwChbASsSflLWs49ZbFeUrEqrBIoAcfVzCGPS5keDfeAPcajNaZVSpAMKn

