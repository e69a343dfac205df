--
-- PostgreSQL database dump
--

\restrict 562nGydLOiPOeT6rbV6C4EkJAfCi9aT3vz59W2R410cgSSn24f7j8dHBv8js67y

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
    cache_write_per_mtok numeric(12,6) NOT NULL
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
-- Name: plan; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.plan (
    id integer NOT NULL,
    name character varying(255) NOT NULL,
    requests_per_minute integer NOT NULL,
    monthly_tokens bigint,
    price_cents integer,
    description text NOT NULL,
    allowed_models text NOT NULL
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
    cost_usd numeric(18,9) NOT NULL,
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
    failed_logins integer NOT NULL,
    locked_until timestamp without time zone
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
-- Name: modelprice id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.modelprice ALTER COLUMN id SET DEFAULT nextval('public.modelprice_id_seq'::regclass);


--
-- Name: plan id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.plan ALTER COLUMN id SET DEFAULT nextval('public.plan_id_seq'::regclass);


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
1	5	prod	gw-CTWPRnA6	eb39897afd5af578a7091a8d5b635fff415e3271b56408d5223b8f39342f3ad6	2026-12-04 20:19:21.884374	\N	\N
2	5	old	gw-KekqxMgj	c5c41d1a31a445ed47ac3db3862d5a07e1de921b8deed66e2dd7575ee17156a1	2026-12-04 20:19:22.271829	\N	2026-12-04 20:19:22.658177
3	6	ci	gw-oXCUtHzp	d49621a29101e7684ec0c68f0932088bce7d6626b9c4d5f97f1992c8512fa604	2026-12-04 20:19:23.712261	\N	\N
4	7	laptop	gw-B6Jyv1wB	0f2b94b5e986794b2f0dd18e87a9ed90650b49dd05e44465728450d306b4f04a	2026-12-04 20:19:24.73183	\N	\N
5	8	batch	gw-Shp6q8fC	a7f8f840077b1d9644c97530998e1fd332606f725171d2928a177510d2ef8564	2026-12-04 20:19:25.649449	\N	\N
\.


--
-- Data for Name: modelprice; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.modelprice (id, model, provider, display_name, input_per_mtok, output_per_mtok, cache_read_per_mtok, cache_write_per_mtok) FROM stdin;
1	claude-opus-5	anthropic	Claude Opus 5	5.000000	25.000000	0.500000	6.250000
2	claude-sonnet-5	anthropic	Claude Sonnet 5	3.000000	15.000000	0.300000	3.750000
3	claude-sonnet-4-6	anthropic	Claude Sonnet 4.6	3.000000	15.000000	0.300000	3.750000
4	gpt-5.5	openai	GPT-5.5	1.250000	10.000000	0.125000	0.000000
5	gpt-5.4-mini	openai	GPT-5.4 mini	0.250000	2.000000	0.025000	0.000000
6	gemini-3.5-flash	gemini	Gemini 3.5 Flash	0.300000	2.500000	0.030000	0.000000
7	gemini-3.1-pro-preview	gemini	Gemini 3.1 Pro (preview)	2.000000	12.000000	0.200000	0.000000
8	claude-opus-4-5	anthropic	Claude Opus 4.5	5.000000	25.000000	0.500000	6.250000
9	claude-sonnet-4-5	anthropic	Claude Sonnet 4.5	3.000000	15.000000	0.300000	3.750000
10	claude-haiku-4-5	anthropic	Claude Haiku 4.5	1.000000	5.000000	0.100000	1.250000
11	gpt-5	openai	GPT-5	1.250000	10.000000	0.125000	0.000000
12	gpt-5-mini	openai	GPT-5 mini	0.250000	2.000000	0.025000	0.000000
13	gpt-4.1	openai	GPT-4.1	2.000000	8.000000	0.500000	0.000000
14	gpt-4.1-mini	openai	GPT-4.1 mini	0.400000	1.600000	0.100000	0.000000
15	gpt-4o	openai	GPT-4o	2.500000	10.000000	1.250000	0.000000
16	gpt-4o-mini	openai	GPT-4o mini	0.150000	0.600000	0.075000	0.000000
17	text-embedding-3-small	openai	Embedding 3 small	0.020000	0.000000	0.000000	0.000000
18	text-embedding-3-large	openai	Embedding 3 large	0.130000	0.000000	0.000000	0.000000
19	gemini-2.5-pro	gemini	Gemini 2.5 Pro	1.250000	10.000000	0.125000	0.000000
20	gemini-2.5-flash	gemini	Gemini 2.5 Flash	0.300000	2.500000	0.030000	0.000000
21	gemini-2.5-flash-lite	gemini	Gemini 2.5 Flash-Lite	0.100000	0.400000	0.010000	0.000000
22	gemini-embedding-001	gemini	Gemini Embedding	0.150000	0.000000	0.000000	0.000000
\.


--
-- Data for Name: plan; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.plan (id, name, requests_per_minute, monthly_tokens, price_cents, description, allowed_models) FROM stdin;
1	Explorer	20	100000	0	Free: try every provider behind one endpoint.	
2	Startup	60	1000000	2900	For a product's first customers.	
3	Growth	200	10000000	9900	For products in production.	
4	Enterprise	1000	\N	\N	Unlimited tokens at a custom price.	
\.


--
-- Data for Name: usagerecord; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.usagerecord (id, created_at, request_id, user_id, api_key_id, provider, endpoint, model, status, streamed, latency_ms, ttfb_ms, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, total_tokens, cost_usd, priced, complete, estimated) FROM stdin;
1	2026-12-04 20:09:25.957224	fixture-0	5	1	openai	chat	gpt-4o-mini	200	f	900	300	1200	0	0	300	0	1500	0.000360000	t	t	f
2	2026-12-04 20:08:25.957224	fixture-1	5	1	anthropic	messages	claude-haiku-4-5	200	f	900	300	2000	0	0	500	0	2500	0.004500000	t	t	f
3	2026-12-04 20:07:25.957224	fixture-2	5	1	gemini	generateContent	gemini-2.5-flash	200	f	900	300	800	0	0	200	0	1000	0.000740000	t	t	f
4	2026-12-04 20:06:25.957224	fixture-3	6	3	openai	chat	gpt-4o-mini	200	f	900	300	1200	0	0	300	0	1500	0.000360000	t	t	f
5	2026-12-04 20:05:25.957224	fixture-4	6	3	anthropic	messages	claude-haiku-4-5	200	f	900	300	2000	0	0	500	0	2500	0.004500000	t	t	f
6	2026-12-04 20:04:25.957224	fixture-5	6	3	gemini	generateContent	gemini-2.5-flash	200	f	900	300	800	0	0	200	0	1000	0.000740000	t	t	f
7	2026-12-04 20:03:25.957224	fixture-6	7	4	openai	chat	gpt-4o-mini	200	f	900	300	1200	0	0	300	0	1500	0.000360000	t	t	f
8	2026-12-04 20:02:25.957224	fixture-7	7	4	anthropic	messages	claude-haiku-4-5	200	f	900	300	2000	0	0	500	0	2500	0.004500000	t	t	f
9	2026-12-04 20:01:25.957224	fixture-8	7	4	gemini	generateContent	gemini-2.5-flash	200	f	900	300	800	0	0	200	0	1000	0.000740000	t	t	f
10	2026-12-04 20:00:25.957224	fixture-9	8	5	openai	chat	gpt-4o-mini	200	f	900	300	1200	0	0	300	0	1500	0.000360000	t	t	f
11	2026-12-04 19:59:25.957224	fixture-10	8	5	anthropic	messages	claude-haiku-4-5	200	f	900	300	2000	0	0	500	0	2500	0.004500000	t	t	f
12	2026-12-04 19:58:25.957224	fixture-11	8	5	gemini	generateContent	gemini-2.5-flash	200	f	900	300	800	0	0	200	0	1000	0.000740000	t	t	f
\.


--
-- Data for Name: user; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public."user" (id, email, password_hash, role, plan_id, active, created_at, failed_logins, locked_until) FROM stdin;
1	admin@llm-gateway.io	$argon2id$v=19$m=65536,t=3,p=4$1YwZRIuIKmqSt00RDBZ9ow$P5W58ChjC5S8YP/VlT4XOiN+Sw+cplL7XuMZ0wPiBP8	admin	4	t	2026-12-04 20:19:20.625512	0	\N
2	demo@startup.ai	$argon2id$v=19$m=65536,t=3,p=4$E8WOsELFB2ERvAkY620Lrw$iVIsYKM4rU+IPonYugQPPYJzgL65m9sCTecPWobBp5I	user	2	t	2026-12-04 20:19:20.761206	0	\N
3	dev@enterprise.com	$argon2id$v=19$m=65536,t=3,p=4$cpWSiO492gOFHMMI+TCbVw$kzAu69eiowHwoDPd4GTgQ9YuawYuN309Nyxiu5QptY8	user	3	t	2026-12-04 20:19:20.872476	0	\N
4	test@free.com	$argon2id$v=19$m=65536,t=3,p=4$V0s/prHQG8XRglr5ZP5mZQ$hYSaHwiYPXAfokCo7tJqkf3EpVA6f2FZhxYn1vZ8sbA	user	1	t	2026-12-04 20:19:20.993854	0	\N
5	alice@shop.example	$argon2id$v=19$m=65536,t=3,p=4$QJDRsQFm+7O3MHUIUhtTDQ$dfeJ6oQabvaD4PfF1M6f2Od17mkbi+fn9h3MVIbjZow	user	2	t	2026-12-04 20:19:21.482107	0	\N
6	bob@lab.example	$argon2id$v=19$m=65536,t=3,p=4$KOvqMJj4bcdA5PK9H/SFnA$Sg2gZp3YwlUiCvv7HOk8iv29gLa5Omo2/eMQ1LqfETY	user	3	t	2026-12-04 20:19:23.208768	0	\N
7	carol@free.example	$argon2id$v=19$m=65536,t=3,p=4$XoHG/p+cEMxe+QbCOi1A+A$2pXtCd0cLlZfLxgrXC5ELKdWrCb+/lvRiO6lt2I8C5g	user	1	t	2026-12-04 20:19:24.207078	0	\N
8	dave@corp.example	$argon2id$v=19$m=65536,t=3,p=4$9LIX5btoqtnP+qqeDDSBxw$stwz2uZddtR5ZSETIG4SCC/mEWU8jhOruxzklXrLlxo	user	4	t	2026-12-04 20:19:25.224009	0	\N
\.


--
-- Name: apikey_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.apikey_id_seq', 5, true);


--
-- Name: modelprice_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.modelprice_id_seq', 22, true);


--
-- Name: plan_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.plan_id_seq', 4, true);


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
-- Name: modelprice modelprice_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.modelprice
    ADD CONSTRAINT modelprice_pkey PRIMARY KEY (id);


--
-- Name: plan plan_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.plan
    ADD CONSTRAINT plan_pkey PRIMARY KEY (id);


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
-- Name: modelprice_model; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX modelprice_model ON public.modelprice USING btree (model);


--
-- Name: plan_name; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX plan_name ON public.plan USING btree (name);


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

\unrestrict 562nGydLOiPOeT6rbV6C4EkJAfCi9aT3vz59W2R410cgSSn24f7j8dHBv8js67y

