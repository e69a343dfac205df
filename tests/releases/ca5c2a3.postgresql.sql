--
-- PostgreSQL database dump
--

\restrict xI1neTigMc5FVegHvHmeXYsGiTQmf6hLVW2mRNXlGaa1sChL2UhaHuwCHfOwAho

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
    revoked_at timestamp without time zone,
    created_by_id integer,
    rpm integer,
    monthly_cap_nanousd bigint,
    allowed_models text NOT NULL,
    expires_at timestamp without time zone,
    allow_cidrs text NOT NULL
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
-- Name: invitation; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.invitation (
    id integer NOT NULL,
    account_id integer NOT NULL,
    email character varying(255) NOT NULL,
    role character varying(255) NOT NULL,
    token_hash character varying(255) NOT NULL,
    invited_by_id integer,
    created_at timestamp without time zone NOT NULL,
    expires_at timestamp without time zone NOT NULL,
    accepted_at timestamp without time zone,
    revoked_at timestamp without time zone
);


--
-- Name: invitation_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.invitation_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: invitation_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.invitation_id_seq OWNED BY public.invitation.id;


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
-- Name: membership; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.membership (
    id integer NOT NULL,
    account_id integer NOT NULL,
    member_id integer NOT NULL,
    role character varying(255) NOT NULL,
    created_at timestamp without time zone NOT NULL
);


--
-- Name: membership_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.membership_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: membership_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.membership_id_seq OWNED BY public.membership.id;


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
-- Name: upstreamevent; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.upstreamevent (
    id integer NOT NULL,
    at timestamp without time zone NOT NULL,
    provider character varying(255) NOT NULL,
    key_id character varying(255) NOT NULL,
    key_name character varying(255) NOT NULL,
    fingerprint character varying(255) NOT NULL,
    kind character varying(255) NOT NULL,
    status integer NOT NULL,
    until timestamp without time zone,
    model character varying(255),
    request_id character varying(255)
);


--
-- Name: upstreamevent_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.upstreamevent_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: upstreamevent_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.upstreamevent_id_seq OWNED BY public.upstreamevent.id;


--
-- Name: upstreamminute; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.upstreamminute (
    id integer NOT NULL,
    key_id character varying(255) NOT NULL,
    minute timestamp without time zone NOT NULL,
    provider character varying(255) NOT NULL,
    key_name character varying(255) NOT NULL,
    fingerprint character varying(255) NOT NULL,
    calls bigint NOT NULL,
    rate_limited bigint NOT NULL,
    errors bigint NOT NULL,
    latency_ms bigint NOT NULL
);


--
-- Name: upstreamminute_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.upstreamminute_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: upstreamminute_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.upstreamminute_id_seq OWNED BY public.upstreamminute.id;


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
    estimated boolean NOT NULL,
    finish_reason character varying(255) NOT NULL
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
-- Name: usagerollup; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.usagerollup (
    id integer NOT NULL,
    period character varying(1) NOT NULL,
    start timestamp without time zone NOT NULL,
    user_id integer NOT NULL,
    key_id integer NOT NULL,
    provider character varying(255) NOT NULL,
    model character varying(255) NOT NULL,
    requests bigint NOT NULL,
    errors bigint NOT NULL,
    refusals bigint NOT NULL,
    input_tokens bigint NOT NULL,
    cache_read_tokens bigint NOT NULL,
    cache_write_tokens bigint NOT NULL,
    output_tokens bigint NOT NULL,
    reasoning_tokens bigint NOT NULL,
    total_tokens bigint NOT NULL,
    counted_tokens bigint NOT NULL,
    allowance_tokens bigint NOT NULL,
    cost_nanousd bigint NOT NULL,
    charge_nanousd bigint NOT NULL,
    credit_nanousd bigint NOT NULL,
    latency_ms bigint NOT NULL
);


--
-- Name: usagerollup_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.usagerollup_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: usagerollup_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.usagerollup_id_seq OWNED BY public.usagerollup.id;


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
    low_balance_mailed boolean NOT NULL,
    totp_secret character varying(255) NOT NULL,
    totp_last_step bigint NOT NULL,
    member_only boolean NOT NULL
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
-- Name: invitation id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.invitation ALTER COLUMN id SET DEFAULT nextval('public.invitation_id_seq'::regclass);


--
-- Name: invoice id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.invoice ALTER COLUMN id SET DEFAULT nextval('public.invoice_id_seq'::regclass);


--
-- Name: membership id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.membership ALTER COLUMN id SET DEFAULT nextval('public.membership_id_seq'::regclass);


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
-- Name: upstreamevent id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.upstreamevent ALTER COLUMN id SET DEFAULT nextval('public.upstreamevent_id_seq'::regclass);


--
-- Name: upstreamminute id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.upstreamminute ALTER COLUMN id SET DEFAULT nextval('public.upstreamminute_id_seq'::regclass);


--
-- Name: usagerecord id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.usagerecord ALTER COLUMN id SET DEFAULT nextval('public.usagerecord_id_seq'::regclass);


--
-- Name: usagerollup id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.usagerollup ALTER COLUMN id SET DEFAULT nextval('public.usagerollup_id_seq'::regclass);


--
-- Name: user id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public."user" ALTER COLUMN id SET DEFAULT nextval('public.user_id_seq'::regclass);


--
-- Data for Name: apikey; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.apikey (id, user_id, name, prefix, secret_hash, created_at, last_used_at, revoked_at, created_by_id, rpm, monthly_cap_nanousd, allowed_models, expires_at, allow_cidrs) FROM stdin;
1	5	prod	gw-gQQHgLPj	5bdfe665b005ce4af1b1d852a6a2e0844717c77387bb169368aad015701812c2	2026-12-05 21:33:53.371355	\N	\N	5	\N	\N		\N	
2	5	old	gw-n5qjmq6p	cd8cbe25ce38760792d9edf245c9332672d0c28a4b73818584fc0c55886685a7	2026-12-05 21:33:53.977414	\N	2026-12-05 21:33:54.570107	5	\N	\N		\N	
3	6	ci	gw-Dx8qKy0Y	e5cbb5848f05f5922bff1ef9f1d524f9790c933c29d1ea6a735e8487f4af508d	2026-12-05 21:33:55.898504	\N	\N	6	\N	\N		\N	
4	7	laptop	gw-ORohZioM	dd859191f26600425f9fb34088d7f86a3180b6fb2afddff36cd6c04eeca70200	2026-12-05 21:33:57.223904	\N	\N	7	\N	\N		\N	
5	8	batch	gw-hfEg4Lah	03cb39551d1b84f1bd11df12bfebf1560cdb9b1ee711d5dcccf7d71c31187111	2026-12-05 21:33:58.558246	\N	\N	8	\N	\N		\N	
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
-- Data for Name: invitation; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.invitation (id, account_id, email, role, token_hash, invited_by_id, created_at, expires_at, accepted_at, revoked_at) FROM stdin;
\.


--
-- Data for Name: invoice; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.invoice (id, stripe_id, user_id, amount_cents, paid_cents, currency, status, period_start, period_end, url, created_at, paid_at) FROM stdin;
\.


--
-- Data for Name: membership; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.membership (id, account_id, member_id, role, created_at) FROM stdin;
1	1	1	owner	2026-12-05 21:33:51.822445
2	2	2	owner	2026-12-05 21:33:51.913659
3	3	3	owner	2026-12-05 21:33:52.017592
4	4	4	owner	2026-12-05 21:33:52.121552
5	5	5	owner	2026-12-05 21:33:52.801548
6	6	6	owner	2026-12-05 21:33:55.280876
7	7	7	owner	2026-12-05 21:33:56.608123
8	8	8	owner	2026-12-05 21:33:57.937743
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
1	baseline (4035676)	2026-12-05 21:33:51.721039
2	billing, sign-in, exact money (7f3cf9a)	2026-12-05 21:33:51.721066
3	existing customers verified	2026-12-05 21:33:51.721073
4	usage dead letters	2026-12-05 21:33:51.72108
5	public plans	2026-12-05 21:33:51.721085
6	billing changes claimed per customer	2026-12-05 21:33:51.721091
7	one-hour cache writes and long-context prices	2026-12-05 21:33:51.721097
8	billing anchored to the calendar month	2026-12-05 21:33:51.721102
9	processing tier prices	2026-12-05 21:33:51.721108
10	sell prices, weighted allowances, prepaid credit	2026-12-05 21:33:51.721113
11	the API a call came on (the unified API)	2026-12-05 21:33:51.721119
12	provider keys' events and calls by the minute	2026-12-05 21:33:51.721124
13	keys' own limits	2026-12-05 21:33:51.72113
14	a second factor at sign-in	2026-12-05 21:33:51.721135
15	finish reasons; usage summed by hour and day	2026-12-05 21:33:51.721141
16	accounts with members	2026-12-05 21:33:51.721146
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
1	5	cus_fixture	sub_fixture	active	2	2027-01-15 09:30:00	f	\N	\N	\N	\N	f	t	2026-12-05 21:33:58.935843	\N	\N
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
-- Data for Name: upstreamevent; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.upstreamevent (id, at, provider, key_id, key_name, fingerprint, kind, status, until, model, request_id) FROM stdin;
\.


--
-- Data for Name: upstreamminute; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.upstreamminute (id, key_id, minute, provider, key_name, fingerprint, calls, rate_limited, errors, latency_ms) FROM stdin;
\.


--
-- Data for Name: usagerecord; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.usagerecord (id, created_at, request_id, user_id, api_key_id, provider, endpoint, api, model, status, streamed, latency_ms, ttfb_ms, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, total_tokens, tool_calls, cost_nanousd, charge_nanousd, counted_tokens, credit_nanousd, priced, complete, estimated, finish_reason) FROM stdin;
1	2026-12-05 21:23:58.902275	fixture-0	5	1	openai	chat	native	gpt-4o-mini	200	f	900	300	1200	0	0	300	0	1500		360000	0	0	0	t	t	f	
2	2026-12-05 21:22:58.902275	fixture-1	5	1	anthropic	messages	native	claude-haiku-4-5	200	f	900	300	2000	0	0	500	0	2500		4500000	0	0	0	t	t	f	
3	2026-12-05 21:21:58.902275	fixture-2	5	1	gemini	generateContent	native	gemini-2.5-flash	200	f	900	300	800	0	0	200	0	1000		740000	0	0	0	t	t	f	
4	2026-12-05 21:20:58.902275	fixture-3	6	3	openai	chat	native	gpt-4o-mini	200	f	900	300	1200	0	0	300	0	1500		360000	0	0	0	t	t	f	
5	2026-12-05 21:19:58.902275	fixture-4	6	3	anthropic	messages	native	claude-haiku-4-5	200	f	900	300	2000	0	0	500	0	2500		4500000	0	0	0	t	t	f	
6	2026-12-05 21:18:58.902275	fixture-5	6	3	gemini	generateContent	native	gemini-2.5-flash	200	f	900	300	800	0	0	200	0	1000		740000	0	0	0	t	t	f	
7	2026-12-05 21:17:58.902275	fixture-6	7	4	openai	chat	native	gpt-4o-mini	200	f	900	300	1200	0	0	300	0	1500		360000	0	0	0	t	t	f	
8	2026-12-05 21:16:58.902275	fixture-7	7	4	anthropic	messages	native	claude-haiku-4-5	200	f	900	300	2000	0	0	500	0	2500		4500000	0	0	0	t	t	f	
9	2026-12-05 21:15:58.902275	fixture-8	7	4	gemini	generateContent	native	gemini-2.5-flash	200	f	900	300	800	0	0	200	0	1000		740000	0	0	0	t	t	f	
10	2026-12-05 21:14:58.902275	fixture-9	8	5	openai	chat	native	gpt-4o-mini	200	f	900	300	1200	0	0	300	0	1500		360000	0	0	0	t	t	f	
11	2026-12-05 21:13:58.902275	fixture-10	8	5	anthropic	messages	native	claude-haiku-4-5	200	f	900	300	2000	0	0	500	0	2500		4500000	0	0	0	t	t	f	
12	2026-12-05 21:12:58.902275	fixture-11	8	5	gemini	generateContent	native	gemini-2.5-flash	200	f	900	300	800	0	0	200	0	1000		740000	0	0	0	t	t	f	
\.


--
-- Data for Name: usagerollup; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.usagerollup (id, period, start, user_id, key_id, provider, model, requests, errors, refusals, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, total_tokens, counted_tokens, allowance_tokens, cost_nanousd, charge_nanousd, credit_nanousd, latency_ms) FROM stdin;
1	h	2026-12-05 21:00:00	5	1	openai	gpt-4o-mini	1	0	0	1200	0	0	300	0	1500	0	0	360000	0	0	900
2	d	2026-12-05 00:00:00	5	1	openai	gpt-4o-mini	1	0	0	1200	0	0	300	0	1500	0	0	360000	0	0	900
3	h	2026-12-05 21:00:00	5	1	anthropic	claude-haiku-4-5	1	0	0	2000	0	0	500	0	2500	0	0	4500000	0	0	900
4	d	2026-12-05 00:00:00	5	1	anthropic	claude-haiku-4-5	1	0	0	2000	0	0	500	0	2500	0	0	4500000	0	0	900
5	h	2026-12-05 21:00:00	5	1	gemini	gemini-2.5-flash	1	0	0	800	0	0	200	0	1000	0	0	740000	0	0	900
6	d	2026-12-05 00:00:00	5	1	gemini	gemini-2.5-flash	1	0	0	800	0	0	200	0	1000	0	0	740000	0	0	900
7	h	2026-12-05 21:00:00	6	3	openai	gpt-4o-mini	1	0	0	1200	0	0	300	0	1500	0	0	360000	0	0	900
8	d	2026-12-05 00:00:00	6	3	openai	gpt-4o-mini	1	0	0	1200	0	0	300	0	1500	0	0	360000	0	0	900
9	h	2026-12-05 21:00:00	6	3	anthropic	claude-haiku-4-5	1	0	0	2000	0	0	500	0	2500	0	0	4500000	0	0	900
10	d	2026-12-05 00:00:00	6	3	anthropic	claude-haiku-4-5	1	0	0	2000	0	0	500	0	2500	0	0	4500000	0	0	900
11	h	2026-12-05 21:00:00	6	3	gemini	gemini-2.5-flash	1	0	0	800	0	0	200	0	1000	0	0	740000	0	0	900
12	d	2026-12-05 00:00:00	6	3	gemini	gemini-2.5-flash	1	0	0	800	0	0	200	0	1000	0	0	740000	0	0	900
13	h	2026-12-05 21:00:00	7	4	openai	gpt-4o-mini	1	0	0	1200	0	0	300	0	1500	0	0	360000	0	0	900
14	d	2026-12-05 00:00:00	7	4	openai	gpt-4o-mini	1	0	0	1200	0	0	300	0	1500	0	0	360000	0	0	900
15	h	2026-12-05 21:00:00	7	4	anthropic	claude-haiku-4-5	1	0	0	2000	0	0	500	0	2500	0	0	4500000	0	0	900
16	d	2026-12-05 00:00:00	7	4	anthropic	claude-haiku-4-5	1	0	0	2000	0	0	500	0	2500	0	0	4500000	0	0	900
17	h	2026-12-05 21:00:00	7	4	gemini	gemini-2.5-flash	1	0	0	800	0	0	200	0	1000	0	0	740000	0	0	900
18	d	2026-12-05 00:00:00	7	4	gemini	gemini-2.5-flash	1	0	0	800	0	0	200	0	1000	0	0	740000	0	0	900
19	h	2026-12-05 21:00:00	8	5	openai	gpt-4o-mini	1	0	0	1200	0	0	300	0	1500	0	0	360000	0	0	900
20	d	2026-12-05 00:00:00	8	5	openai	gpt-4o-mini	1	0	0	1200	0	0	300	0	1500	0	0	360000	0	0	900
21	h	2026-12-05 21:00:00	8	5	anthropic	claude-haiku-4-5	1	0	0	2000	0	0	500	0	2500	0	0	4500000	0	0	900
22	d	2026-12-05 00:00:00	8	5	anthropic	claude-haiku-4-5	1	0	0	2000	0	0	500	0	2500	0	0	4500000	0	0	900
23	h	2026-12-05 21:00:00	8	5	gemini	gemini-2.5-flash	1	0	0	800	0	0	200	0	1000	0	0	740000	0	0	900
24	d	2026-12-05 00:00:00	8	5	gemini	gemini-2.5-flash	1	0	0	800	0	0	200	0	1000	0	0	740000	0	0	900
\.


--
-- Data for Name: user; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public."user" (id, email, password_hash, role, plan_id, active, created_at, session_epoch, email_verified_at, allowance_month, allowance_banked, allowance_since, spend_credit, topup_below_cents, topup_cents, low_balance_mailed, totp_secret, totp_last_step, member_only) FROM stdin;
1	admin@llm-gateway.io	$argon2id$v=19$m=65536,t=3,p=4$N2+T/Tu8jAlhUS8nBt22lQ$uIam0VgQR90la/HR5Lq7uk2rxROZUP3OqSUSonqUkeQ	admin	4	t	2026-12-05 21:33:51.819476	0	2026-12-05 21:33:51.819498		0	\N	f	\N	\N	f		0	f
2	demo@startup.ai	$argon2id$v=19$m=65536,t=3,p=4$3dn8wEhPlNaKEVsR1sUUMg$QCDZClMVzL2X9h0gCf9ZrFFeXNk4biGpMWyDIrswLBo	user	2	t	2026-12-05 21:33:51.911603	0	2026-12-05 21:33:51.911621		0	\N	f	\N	\N	f		0	f
3	dev@enterprise.com	$argon2id$v=19$m=65536,t=3,p=4$zuuLVYctS27TZSnI/HCfdQ$ECwT1i78KoXx37eMu9jfFQmE/1XHqMhBUUOqM1twqhk	user	3	t	2026-12-05 21:33:52.015324	0	2026-12-05 21:33:52.015346		0	\N	f	\N	\N	f		0	f
4	test@free.com	$argon2id$v=19$m=65536,t=3,p=4$FFWxI2aOv7DcAleed6wc1A$90tjtwK1erjZAy/FGRYFTw0giniZmg8rSD+YuDFHiEc	user	1	t	2026-12-05 21:33:52.119373	0	2026-12-05 21:33:52.119391		0	\N	f	\N	\N	f		0	f
5	alice@shop.example	$argon2id$v=19$m=65536,t=3,p=4$B8Dd7UctRoDTj49MMuN1/g$gTDQ6Dse0LPUFToe5D73EY/S5+sq9ixG12Fig4INf6c	user	2	t	2026-12-05 21:33:52.798343	0	2026-12-05 21:33:52.79831		0	\N	f	\N	\N	f		0	f
6	bob@lab.example	$argon2id$v=19$m=65536,t=3,p=4$RmNpbKjY4ke9SJXyBsKDJw$5JVcJ21FL6Dq/oq8ckn7ENSBLKYZbG8Igm/n9afE7eQ	user	3	t	2026-12-05 21:33:55.278046	0	2026-12-05 21:33:55.278013		0	\N	f	\N	\N	f		0	f
7	carol@free.example	$argon2id$v=19$m=65536,t=3,p=4$HBaeuqq2VUdLRj2Cjfb9QQ$Dj225qmcZ55ucwF9NTizC3aEaxBvXRQQ9fLj9qO8EbA	user	1	t	2026-12-05 21:33:56.605258	0	2026-12-05 21:33:56.605218		0	\N	f	\N	\N	f		0	f
8	dave@corp.example	$argon2id$v=19$m=65536,t=3,p=4$toewDHQMOFSHkfZj6qs8qA$L3uZYvsvIWZxQAIZkWxG4+NdVroBDIrtjrchGs5/tnQ	user	4	t	2026-12-05 21:33:57.934859	0	2026-12-05 21:33:57.93482		0	\N	f	\N	\N	f		0	f
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
-- Name: invitation_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.invitation_id_seq', 1, false);


--
-- Name: invoice_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.invoice_id_seq', 1, false);


--
-- Name: membership_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.membership_id_seq', 8, true);


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
-- Name: upstreamevent_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.upstreamevent_id_seq', 1, false);


--
-- Name: upstreamminute_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.upstreamminute_id_seq', 1, false);


--
-- Name: usagerecord_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.usagerecord_id_seq', 12, true);


--
-- Name: usagerollup_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.usagerollup_id_seq', 24, true);


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
-- Name: invitation invitation_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.invitation
    ADD CONSTRAINT invitation_pkey PRIMARY KEY (id);


--
-- Name: invoice invoice_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.invoice
    ADD CONSTRAINT invoice_pkey PRIMARY KEY (id);


--
-- Name: membership membership_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.membership
    ADD CONSTRAINT membership_pkey PRIMARY KEY (id);


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
-- Name: upstreamevent upstreamevent_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.upstreamevent
    ADD CONSTRAINT upstreamevent_pkey PRIMARY KEY (id);


--
-- Name: upstreamminute upstreamminute_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.upstreamminute
    ADD CONSTRAINT upstreamminute_pkey PRIMARY KEY (id);


--
-- Name: usagerecord usagerecord_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.usagerecord
    ADD CONSTRAINT usagerecord_pkey PRIMARY KEY (id);


--
-- Name: usagerollup usagerollup_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.usagerollup
    ADD CONSTRAINT usagerollup_pkey PRIMARY KEY (id);


--
-- Name: user user_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public."user"
    ADD CONSTRAINT user_pkey PRIMARY KEY (id);


--
-- Name: apikey_created_by_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX apikey_created_by_id ON public.apikey USING btree (created_by_id);


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
-- Name: invitation_account_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX invitation_account_id ON public.invitation USING btree (account_id);


--
-- Name: invitation_invited_by_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX invitation_invited_by_id ON public.invitation USING btree (invited_by_id);


--
-- Name: invitation_token_hash; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX invitation_token_hash ON public.invitation USING btree (token_hash);


--
-- Name: invoice_stripe_id; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX invoice_stripe_id ON public.invoice USING btree (stripe_id);


--
-- Name: invoice_user_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX invoice_user_id ON public.invoice USING btree (user_id);


--
-- Name: membership_account_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX membership_account_id ON public.membership USING btree (account_id);


--
-- Name: membership_account_id_member_id; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX membership_account_id_member_id ON public.membership USING btree (account_id, member_id);


--
-- Name: membership_member_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX membership_member_id ON public.membership USING btree (member_id);


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
-- Name: upstreamevent_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX upstreamevent_at ON public.upstreamevent USING btree (at);


--
-- Name: upstreamevent_key_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX upstreamevent_key_id ON public.upstreamevent USING btree (key_id);


--
-- Name: upstreamminute_key_id_minute; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX upstreamminute_key_id_minute ON public.upstreamminute USING btree (key_id, minute);


--
-- Name: upstreamminute_minute; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX upstreamminute_minute ON public.upstreamminute USING btree (minute);


--
-- Name: usagerecord_api_key_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX usagerecord_api_key_id ON public.usagerecord USING btree (api_key_id);


--
-- Name: usagerecord_api_key_id_created_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX usagerecord_api_key_id_created_at ON public.usagerecord USING btree (api_key_id, created_at);


--
-- Name: usagerecord_created_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX usagerecord_created_at ON public.usagerecord USING btree (created_at);


--
-- Name: usagerecord_tools; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX usagerecord_tools ON public.usagerecord USING btree (user_id, created_at) WHERE (tool_calls <> ''::text);


--
-- Name: usagerecord_user_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX usagerecord_user_id ON public.usagerecord USING btree (user_id);


--
-- Name: usagerecord_user_id_created_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX usagerecord_user_id_created_at ON public.usagerecord USING btree (user_id, created_at);


--
-- Name: usagerollup_period_start_user_id_key_id_provider_model; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX usagerollup_period_start_user_id_key_id_provider_model ON public.usagerollup USING btree (period, start, user_id, key_id, provider, model);


--
-- Name: usagerollup_user_id_period_start; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX usagerollup_user_id_period_start ON public.usagerollup USING btree (user_id, period, start);


--
-- Name: user_email; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX user_email ON public."user" USING btree (email);


--
-- Name: user_plan_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX user_plan_id ON public."user" USING btree (plan_id);


--
-- Name: apikey apikey_created_by_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.apikey
    ADD CONSTRAINT apikey_created_by_id_fkey FOREIGN KEY (created_by_id) REFERENCES public."user"(id) ON DELETE SET NULL;


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
-- Name: invitation invitation_account_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.invitation
    ADD CONSTRAINT invitation_account_id_fkey FOREIGN KEY (account_id) REFERENCES public."user"(id) ON DELETE CASCADE;


--
-- Name: invitation invitation_invited_by_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.invitation
    ADD CONSTRAINT invitation_invited_by_id_fkey FOREIGN KEY (invited_by_id) REFERENCES public."user"(id) ON DELETE SET NULL;


--
-- Name: invoice invoice_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.invoice
    ADD CONSTRAINT invoice_user_id_fkey FOREIGN KEY (user_id) REFERENCES public."user"(id) ON DELETE CASCADE;


--
-- Name: membership membership_account_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.membership
    ADD CONSTRAINT membership_account_id_fkey FOREIGN KEY (account_id) REFERENCES public."user"(id) ON DELETE CASCADE;


--
-- Name: membership membership_member_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.membership
    ADD CONSTRAINT membership_member_id_fkey FOREIGN KEY (member_id) REFERENCES public."user"(id) ON DELETE CASCADE;


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

\unrestrict xI1neTigMc5FVegHvHmeXYsGiTQmf6hLVW2mRNXlGaa1sChL2UhaHuwCHfOwAho

