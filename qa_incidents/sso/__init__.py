"""Single sign-on with the company's identity providers: OpenID Connect and SAML 2.0."""
