//! Products: a merchant's own catalogue (create, update, list), and the open products for
//! influencers. Lists filter by program, category and stock, a page at a time.

use crate::error::{Error, ErrorBody, Result};
use crate::extract::{double_option, AuthUser, Check, Checked, DecimalInput, Json, Path, Query};
use crate::responses::{Forbidden, JsonBody, QueryErrors, Session};
use crate::state::ApiState;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use skinstack_core::service::products::{self, ProductInput};
use skinstack_core::{
    Category, Description, ExternalId, Name, Page, Price, Product, ProductId, ProductPatch,
    ProductQuery, ProgramId, WebUrl,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get_one, update))
}

/// `POST /v1/products`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductRequest {
    /// The program it is promoted under (one of yours).
    pub program_id: Option<Uuid>,
    /// Your own id for it (Shopify id, SKU, ASIN); unique per merchant.
    #[schema(value_type = skinstack_core::ExternalId, example = "gid://shopify/Product/1")]
    pub external_id: String,
    /// Its name.
    #[schema(value_type = skinstack_core::Name, example = "Vitamin C Serum")]
    pub name: String,
    /// Its description.
    #[schema(value_type = Option<skinstack_core::Description>)]
    pub description: Option<String>,
    /// Its price, below 100000000.00.
    #[schema(value_type = skinstack_core::Price, example = "38.50")]
    pub price: DecimalInput,
    /// Image for link previews.
    #[schema(value_type = Option<skinstack_core::WebUrl>)]
    pub image_url: Option<String>,
    /// Its page in your shop.
    #[schema(value_type = skinstack_core::WebUrl, example = "https://glowco.com/products/vitamin-c-serum")]
    pub product_url: String,
    /// One of the nine skincare categories.
    #[schema(value_type = Option<skinstack_core::Category>, example = "serum")]
    pub category: Option<Category>,
    /// Whether it can be bought now (default true).
    pub in_stock: Option<bool>,
}

/// `PATCH /v1/products/{id}`: absent fields stay, `null` clears an optional one. The external
/// id never changes.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatchRequest {
    /// New program, or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub program_id: Option<Option<Uuid>>,
    /// New name.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = skinstack_core::Name)]
    pub name: Option<Option<String>>,
    /// New description, or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<skinstack_core::Description>)]
    pub description: Option<Option<String>>,
    /// New price.
    #[schema(value_type = Option<skinstack_core::Price>)]
    pub price: Option<DecimalInput>,
    /// New image, or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<skinstack_core::WebUrl>)]
    pub image_url: Option<Option<String>>,
    /// New page.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = skinstack_core::WebUrl)]
    pub product_url: Option<Option<String>>,
    /// New category, or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<skinstack_core::Category>)]
    pub category: Option<Option<Category>>,
    /// New stock state.
    pub in_stock: Option<bool>,
}

/// A product.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductView {
    /// Its id.
    pub id: Uuid,
    /// The merchant selling it.
    pub merchant_id: Uuid,
    /// Its program.
    pub program_id: Option<Uuid>,
    /// The merchant's own id.
    pub external_id: String,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// Its price (decimal string).
    #[schema(value_type = String, example = "38.50")]
    pub price: Price,
    /// The currency of its amounts: its merchant's settlement currency.
    #[schema(value_type = skinstack_core::Currency, example = "USD")]
    pub currency: String,
    /// Its image.
    pub image_url: Option<String>,
    /// Its page.
    pub product_url: String,
    /// Its category.
    #[schema(value_type = Option<String>)]
    pub category: Option<Category>,
    /// Whether it can be bought now.
    pub in_stock: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Product> for ProductView {
    fn from(p: Product) -> Self {
        Self {
            id: p.id.as_uuid(),
            merchant_id: p.merchant_id.as_uuid(),
            program_id: p.program_id.map(|id| id.as_uuid()),
            external_id: p.external_id.as_str().to_owned(),
            name: p.name.as_str().to_owned(),
            description: p.description.map(|d| d.as_str().to_owned()),
            price: p.price,
            currency: p.currency.to_string(),
            image_url: p.image_url.map(|u| u.as_str().to_owned()),
            product_url: p.product_url.as_str().to_owned(),
            category: p.category,
            in_stock: p.in_stock,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// A page of products with the cursor for the next one.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductList {
    /// This page.
    pub items: Vec<ProductView>,
    /// Pass as `after` for the next page; absent on the last one.
    pub next_after: Option<Uuid>,
}

/// Filters and paging for `GET /v1/products`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProductListQuery {
    /// Only products in this program.
    pub program_id: Option<Uuid>,
    /// Only this category.
    #[param(value_type = Option<skinstack_core::Category>)]
    pub category: Option<Category>,
    /// Only in stock (`true`) or out of stock (`false`).
    pub in_stock: Option<bool>,
    /// Page size, 1–100 (50 if absent).
    #[param(schema_with = skinstack_core::openapi::page_limit)]
    pub limit: Option<u32>,
    /// The `next_after` of the previous page.
    pub after: Option<Uuid>,
}

fn price(c: &mut Check, value: &DecimalInput) -> Checked<Price> {
    c.req("price", Price::parse(&value.text()))
}

/// Turns a product request into the service's input, naming every refused field.
pub(crate) fn product_input(body: ProductRequest) -> Result<ProductInput> {
    let mut c = Check::default();
    let external_id = c.req("external_id", ExternalId::parse(&body.external_id));
    let name = c.req("name", Name::parse(&body.name));
    let description = c.opt(
        "description",
        body.description.as_deref(),
        Description::parse,
    );
    let price = price(&mut c, &body.price);
    let image_url = c.opt("image_url", body.image_url.as_deref(), WebUrl::parse_uri);
    let product_url = c.req("product_url", WebUrl::parse_uri(&body.product_url));
    let (external_id, name, description, price, image_url, product_url) = c.finish((
        external_id,
        name,
        description,
        price,
        image_url,
        product_url,
    ))?;
    Ok(ProductInput {
        program_id: body.program_id.map(ProgramId::from_uuid),
        external_id,
        name,
        description,
        price,
        image_url,
        product_url,
        category: body.category,
        in_stock: body.in_stock.unwrap_or(true),
    })
}

/// Adds a product to the caller's merchant's catalogue.
#[utoipa::path(
    post,
    path = "/v1/products",
    tag = "products",
    security(("bearer" = [])),
    request_body = ProductRequest,
    responses(
        (status = 201, description = "Created", body = ProductView),
        JsonBody, Session, Forbidden,
        (status = 404, description = "No merchant profile, or the program is not yours", body = ErrorBody),
        (status = 409, description = "Duplicate external_id", body = ErrorBody),
    )
)]
async fn create(
    State(state): State<ApiState>,
    auth: AuthUser,
    Json(body): Json<ProductRequest>,
) -> Result<(StatusCode, axum::Json<ProductView>)> {
    let input = product_input(body)?;
    let product = products::create(&*state.store, &auth.actor, input).await?;
    Ok((StatusCode::CREATED, axum::Json(product.into())))
}

/// The products the caller may see: a merchant's own, or the open ones for influencers and
/// administrators; filtered and paged.
#[utoipa::path(
    get,
    path = "/v1/products",
    tag = "products",
    security(("bearer" = [])),
    params(ProductListQuery),
    responses(
        (status = 200, description = "One page", body = ProductList),
        QueryErrors, Session,
        (status = 404, description = "A merchant account without a merchant profile", body = ErrorBody),
    )
)]
async fn list(
    State(state): State<ApiState>,
    auth: AuthUser,
    Query(query): Query<ProductListQuery>,
) -> Result<axum::Json<ProductList>> {
    let page = Page::new(
        query.limit.unwrap_or(Page::<ProductId>::DEFAULT_LIMIT),
        query.after.map(ProductId::from_uuid),
    )
    .map_err(|reason| Error::invalid(&skinstack_core::ValidationError::new("limit", reason)))?;
    let filter = ProductQuery {
        program: query.program_id.map(ProgramId::from_uuid),
        category: query.category,
        in_stock: query.in_stock,
        page,
        ..ProductQuery::default()
    };
    let items = products::list(&*state.store, &auth.actor, filter).await?;
    let next_after = page.next_cursor(&items, |p| p.id).map(|id| id.as_uuid());
    Ok(axum::Json(ProductList {
        items: items.into_iter().map(ProductView::from).collect(),
        next_after,
    }))
}

/// One product: a merchant's own, or an open one for others.
#[utoipa::path(
    get,
    path = "/v1/products/{id}",
    tag = "products",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Product id")),
    responses(
        (status = 200, description = "The product", body = ProductView),
        Session,
        (status = 404, description = "No such product, or not yours", body = ErrorBody),
    )
)]
async fn get_one(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<ProductView>> {
    let product = products::get(&*state.store, &auth.actor, ProductId::from_uuid(id)).await?;
    Ok(axum::Json(product.into()))
}

/// Changes one of the caller's merchant's products.
#[utoipa::path(
    patch,
    path = "/v1/products/{id}",
    tag = "products",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Product id")),
    request_body = ProductPatchRequest,
    responses(
        (status = 200, description = "Updated", body = ProductView),
        JsonBody, Session, Forbidden,
        (status = 404, description = "No such product or program, or not yours", body = ErrorBody),
    )
)]
async fn update(
    State(state): State<ApiState>,
    auth: AuthUser,
    Path(id): Path<Uuid>,
    Json(body): Json<ProductPatchRequest>,
) -> Result<axum::Json<ProductView>> {
    let mut c = Check::default();
    let name = c.set("name", body.name, Name::parse);
    let description = c.patch("description", body.description, Description::parse);
    let new_price = match &body.price {
        Some(p) => price(&mut c, p).map(Some),
        None => Checked::ok(None),
    };
    let image_url = c.patch("image_url", body.image_url, WebUrl::parse_uri);
    let product_url = c.set("product_url", body.product_url, WebUrl::parse_uri);
    let (name, description, price, image_url, product_url) =
        c.finish((name, description, new_price, image_url, product_url))?;
    let patch = ProductPatch {
        program_id: body.program_id.map(|p| p.map(ProgramId::from_uuid)),
        name,
        description,
        price,
        image_url,
        product_url,
        category: body.category,
        in_stock: body.in_stock,
    };
    let product =
        products::update(&*state.store, &auth.actor, ProductId::from_uuid(id), patch).await?;
    Ok(axum::Json(product.into()))
}
