#!/usr/bin/env python3
"""Regenerate the sample exports from the table below.

Writes stores.csv (UTF-8), stores-gbk.csv (the same bytes re-encoded as GBK),
stores.sqlite (table `stores`, typed columns as a POS database would hold them), and the
SQL that loads the same table into PostgreSQL (stores-postgres.sql) and MySQL/MariaDB
(stores-mysql.sql). Each store's photos (a storefront for its city, two interiors) are
files in images/, relative to the export's directory; draw_photos.py draws them.
Run from anywhere: python3 samples/generate.py
"""
import csv
import io
import os
import sqlite3

HERE = os.path.dirname(os.path.abspath(__file__))

HEADER = ["门店编号", "分店名", "省份代码", "城市代码", "区县代码", "地址", "经度", "纬度",
          "联系电话", "店长手机", "营业时间", "人均消费", "WiFi", "停车"]
PHOTO_HEADER = ["门头照", "门店照片"]
INTERIORS = ["images/interior-counter.jpg", "images/interior-seating.png"]


def photos(store_id):
    """(main image, audit images) of a store: its city's storefront, then the interiors."""
    front = "images/storefront-%s.jpg" % store_id.split("-")[1].lower()
    return front, ",".join([front] + INTERIORS)

SH = ("310000", "310100")
BJ = ("110000", "110100")
HZ = ("330000", "330100")

# (store id, branch, area, district, address, lng, lat, phone, manager, hours, avg, wifi, parking)
# Some raw values need normalising on purpose: full-width digits, 9:00, ￥/元 prices,
# 星期 day names, 至 and ～ separators, 是/有/Y flags.
ROWS = [
    ("XGF-SH-001", "南京西路店", SH, "310106", "南京西路1266号恒隆广场B1层", "121.451926", "31.228531", "021-62881234", "13916880001", "周一-周日 9:00-22:00", "￥28", "是", "无"),
    ("XGF-SH-002", "淮海中路店", SH, "310101", "淮海中路283号香港广场L1层", "121.471890", "31.221628", "０２１－６３８５６６１２", "13916880002", "周一-周日 10:00-22:00", "30", "是", "有"),
    ("XGF-SH-003", "徐家汇店", SH, "310104", "虹桥路1号港汇恒隆广场B2层", "121.437580", "31.195012", "021-64071188，13916880003", "13916880003", "周一至周五 08:00-21:00，周六-周日 09:00-22:30", "26", "Y", "有"),
    ("XGF-SH-004", "中山公园店", SH, "310105", "长宁路1018号龙之梦购物中心B1层", "121.417611", "31.219341", "021-52391166", "", "10:00-22:00", "25元", "是", "有"),
    ("XGF-SH-005", "静安寺店", SH, "310106", "南京西路1618号久光百货B1层", "121.446313", "31.223945", "021-62887766", "13916880005", "周一-周日 10:00-22:00", "32.00", "是", "无"),
    ("XGF-SH-006", "陆家嘴店", SH, "310115", "陆家嘴西路168号正大广场B1层", "121.499718", "31.236432", "021-68871234", "13916880006", "周一-周日 10:00～22:00", "35", "是", "有"),
    ("XGF-SH-007", "世纪大道店", SH, "310115", "世纪大道1192号世纪汇广场B1层", "121.527003", "31.229521", "021-50801122", "13916880007", "星期一-星期五 07:30-21:00,星期六-星期日 09:00-21:00", "27", "是", "有"),
    ("XGF-SH-008", "五角场店", SH, "310110", "邯郸路600号万达广场B1层", "121.514106", "31.301002", "021-65451188", "13916880008", "周一-周日 10:00-22:00", "24", "否", "有"),
    ("XGF-SH-009", "曹家渡店", SH, "310107", "长寿路155号巴黎春天1层", "121.440018", "31.241537", "021-62667788", "", "周一-周日 9:30-21:30", "26", "是", "无"),
    ("XGF-SH-010", "四川北路店", SH, "310109", "四川北路1318号盛邦国际大厦1层", "121.484317", "31.257125", "021-56967788", "13916880010", "周一-周日 08:00-21:00", "22", "是", "无"),
    ("XGF-SH-011", "七宝店", SH, "310112", "漕宝路3366号七宝万科广场B1层", "121.352610", "31.159882", "021-54871122", "13916880011", "周一-周日 10:00-22:00", "25", "有", "有"),
    ("XGF-SH-012", "莘庄店", SH, "310112", "沪闵路6088号莘庄凯德龙之梦B1层", "121.385502", "31.111365", "021-64881133", "13916880012", "周一-周日 10:00-22:00", "25", "是", "有"),
    ("XGF-SH-013", "宝山万达店", SH, "310113", "一二八纪念路988号宝山万达广场1层", "121.445660", "31.326120", "021-36501155", "13916880013", "周一-周日 10:00-22:00", "23", "是", "有"),
    ("XGF-SH-014", "嘉定新城店", SH, "310114", "裕民南路1234号嘉定大融城B1层", "121.253411", "31.353218", "021-59521166", "13916880014", "周一-周日 10:00-21:30", "22", "是", "有"),
    ("XGF-SH-015", "松江万达店", SH, "310117", "广富林路658号松江万达广场1层", "121.221950", "31.047612", "021-57781177", "13916880015", "周一-周日 10:00-22:00", "22", "是", "有"),
    ("XGF-SH-016", "青浦万达店", SH, "310118", "淀山湖大道218号青浦万达茂1层", "121.126735", "31.139855", "021-59731188", "", "周一-周日 10:00-22:00", "21", "否", "有"),
    ("XGF-SH-017", "新天地店", SH, "310101", "马当路245号新天地时尚购物中心B1层", "121.474790", "31.218466", "021-63361199", "13916880017", "周一-周日 10：00-23：00", "38", "是", "无"),
    ("XGF-SH-018", "张江店", SH, "310115", "祖冲之路1238号长泰广场1层", "121.596815", "31.205640", "021-50791212", "13916880018", "周一-周五 07:30-20:00,周六-周日 10:00-20:00", "24", "是", "有"),
    ("XGF-SH-019", "长风店", SH, "310107", "大渡河路1518号长风大悦城B1层", "121.389932", "31.225781", "021-52661313", "13916880019", "周一-周日 10:00-22:00", "26", "是", "有"),
    ("XGF-SH-020", "虹口足球场店", SH, "310109", "东江湾路188号凯德龙之梦虹口B1层", "121.480920", "31.271750", "021-65171414", "13916880020", "周一-周日 10:00-22:00", "25", "是", "有"),
    ("XGF-SH-021", "漕河泾店", SH, "310104", "宜山路1号1层", "121.418405", "31.171600", "021-64851515", "13916880021", "周一-周五 07:00-20:00", "20", "是", "无"),
    ("XGF-SH-022", "大宁店", SH, "310106", "共和新路1878号大宁国际商业广场1层", "121.458500", "31.279420", "021-56351616", "13916880022", "周一-周日 10:00-22:00", "27", "是", "有"),
    ("XGF-BJ-001", "三里屯店", BJ, "110105", "三里屯路19号太古里南区B1层", "116.455014", "39.934150", "010-64171234", "13910660001", "周一-周日 10:00-22:00", "32", "是", "有"),
    ("XGF-BJ-002", "国贸店", BJ, "110105", "建国门外大街1号国贸商城B1层", "116.461032", "39.909090", "010-65051188", "13910660002", "周一-周日 9:00-22:00", "35", "是", "有"),
    ("XGF-BJ-003", "王府井店", BJ, "110101", "王府井大街138号新东安广场B1层", "116.410903", "39.914490", "０１０－６５２８８８６６", "13910660003", "周一-周日 10:00-22:00", "30", "是", "无"),
    ("XGF-BJ-004", "西单店", BJ, "110102", "西单北大街131号西单大悦城B1层", "116.373196", "39.910770", "010-66511166", "13910660004", "周一-周日 10:00-22:00", "28", "是", "有"),
    ("XGF-BJ-005", "中关村店", BJ, "110108", "中关村大街15号中关村广场购物中心B1层", "116.316520", "39.983810", "010-82481122", "13910660005", "周一-周五 08:00-21:00,周六-周日 10:00-21:00", "26", "是", "有"),
    ("XGF-BJ-006", "五道口店", BJ, "110108", "成府路28号五道口购物中心1层", "116.337650", "39.992760", "010-62671133", "", "周一-周日 9:00-22:00", "24", "是", "无"),
    ("XGF-BJ-007", "望京店", BJ, "110105", "望京街10号望京SOHO塔1 1层", "116.480550", "39.996180", "010-84761144", "13910660007", "周一-周日 08:00-21:00", "27", "Y", "有"),
    ("XGF-BJ-008", "丰台科技园店", BJ, "110106", "汽车博物馆东路1号诺德中心1层", "116.295560", "39.828960", "010-63701155", "13910660008", "周一-周五 07:30-20:00", "23", "是", "有"),
    ("XGF-BJ-009", "石景山万达店", BJ, "110107", "石景山路乙18号万达广场B1层", "116.220420", "39.906530", "010-68671166", "13910660009", "周一-周日 10:00-22:00", "24", "是", "有"),
    ("XGF-BJ-010", "通州万达店", BJ, "110112", "新华西街58号通州万达广场1层", "116.659480", "39.906210", "010-80581177", "13910660010", "周一-周日 10:00-22:00", "22", "是", "有"),
    ("XGF-BJ-011", "顺义祥云店", BJ, "110113", "安泰大街6号院祥云小镇1层", "116.569200", "40.070580", "010-80481188", "", "周一-周日 10:00-21:30", "25", "否", "有"),
    ("XGF-BJ-012", "回龙观店", BJ, "110114", "回龙观西大街111号龙德广场1层", "116.321960", "40.077290", "010-81791199", "13910660012", "周一-周日 10:00-22:00", "22", "是", "有"),
    ("XGF-BJ-013", "亦庄店", BJ, "110115", "荣华中路8号力宝广场1层", "116.510360", "39.794580", "010-67861212", "13910660013", "周一-周日 9:30-21:30", "23", "是", "有"),
    ("XGF-BJ-014", "东直门店", BJ, "110101", "东直门外大街48号来福士购物中心B1层", "116.433870", "39.940390", "010-84091313", "13910660014", "周一-周日 10:00-22:00", "29", "是", "无"),
    ("XGF-BJ-015", "金融街店", BJ, "110102", "金城坊街2号金融街购物中心B1层", "116.358710", "39.915340", "010-66221414", "13910660015", "周一-周五 08:00-20:00,周六 10:00-20:00", "33", "是", "有"),
    ("XGF-BJ-016", "方庄店", BJ, "110106", "蒲方路1号方庄购物中心1层", "116.430210", "39.864580", "010-67611515", "13910660016", "周一-周日 10:00-21:00", "22", "是", "有"),
    ("XGF-HZ-001", "湖滨店", HZ, "330102", "延安路258号湖滨银泰in77 B区1层", "120.164400", "30.257470", "0571-87001234", "13958880001", "周一-周日 10:00-22:00", "30", "是", "无"),
    ("XGF-HZ-002", "武林店", HZ, "330105", "延安路530号武林银泰B1层", "120.165020", "30.272690", "0571-85061188", "13958880002", "周一-周日 9:30-22:00", "28", "是", "有"),
    ("XGF-HZ-003", "西溪店", HZ, "330106", "文二西路551号西溪印象城1层", "120.092050", "30.282580", "0571-88971122", "13958880003", "周一-周日 10:00-22:00", "26", "是", "有"),
    ("XGF-HZ-004", "黄龙店", HZ, "330106", "杭大路15号嘉华国际商务中心1层", "120.146540", "30.272090", "0571-87961133", "", "周一-周五 07:30-20:30,周六-周日 09:00-20:30", "25", "是", "无"),
    ("XGF-HZ-005", "滨江宝龙店", HZ, "330108", "滨盛路3867号宝龙城市广场1层", "120.212400", "30.208700", "0571-86691144", "13958880005", "周一-周日 10:00-22:00", "24", "Y", "有"),
    ("XGF-HZ-006", "萧山银隆店", HZ, "330109", "金城路438号东方银座1层", "120.269850", "30.165870", "0571-82721155", "13958880006", "周一-周日 10:00-22:00", "23", "是", "有"),
    ("XGF-HZ-007", "未来科技城店", HZ, "330110", "文一西路1500号海创园1层", "119.989320", "30.282090", "0571-88681166", "13958880007", "周一-周五 08:00-20:00", "22", "是", "有"),
    ("XGF-HZ-008", "临平银泰店", HZ, "330113", "迎宾路368号银泰城1层", "120.306880", "30.419870", "0571-86221177", "13958880008", "周一-周日 10:00-22:00", "21", "是", "有"),
    ("XGF-HZ-009", "下沙店", HZ, "330114", "金沙大道560号金沙天街1层", "120.334150", "30.306480", "0571-86911188", "13958880009", "周一-周日 10:00-22:00", "20", "是", "有"),
    ("XGF-HZ-010", "城西银泰店", HZ, "330105", "丰潭路380号城西银泰城B1层", "120.116760", "30.295630", "0571-88391199", "13958880010", "周一-周日 10:00-22:00", "25", "是", "有"),
    ("XGF-HZ-011", "文三路店", HZ, "330106", "文三路478号华星时代广场1层,近教工路", "120.136600", "30.279100", "0571-88211212", "", "周一-周日 08:00-21:00", "24", "是", "无"),
    ("XGF-HZ-012", "钱江新城店", HZ, "330102", "富春路701号万象城B1层", "120.213680", "30.252490", "0571-89701313", "13958880012", "周一-周日 10:00-22:00", "34", "是", "有"),
]


def csv_text():
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER + PHOTO_HEADER)
    for (sid, branch, (prov, city), dist, addr, lng, lat, phone, mgr, hours, avg, wifi, park) in ROWS:
        w.writerow([sid, branch, prov, city, dist, addr, lng, lat, phone, mgr, hours, avg, wifi, park,
                    *photos(sid)])
    return buf.getvalue()


def price(raw):
    return int(float(raw.replace("￥", "").replace("元", "")))


ERR_HEADER = HEADER + ["主店名", "category_id", "main_image", "audit_images", "isv_uid",
                       "licence_code", "licence_expires", "is_operating_online", "online_url",
                       "expected"]
LONG_ADDR = "南京西路1266号恒隆广场B1层" * 4  # 64 chars
IMG = "1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC"

# (store id, {column: value} overrides of a valid row, expected "field: reason fragment")
# "-" names the row as a whole. One reason per row; OK rows are valid.
ERRORS = [
    ("OK-001", {}, ""),
    ("OK-002", {"isv_uid": "2088102146225135", "licence_code": "91310000MA1K4XYZ2B",
                "licence_expires": "2030/6/30", "is_operating_online": "是",
                "online_url": "https://shop.example.com/xgf"}, ""),
    ("OK-003", {"地址": "南京西路1266号\n恒隆广场B1层"}, ""),
    ("", {}, "store_id: store_id is empty"),
    ("ERR-" + "X" * 29, {}, "store_id: at most 32"),
    ("ERR-\tTAB", {}, "store_id: control character"),
    ("ERR-DUP", {}, "store_id: duplicate store_id"),
    ("ERR-DUP", {"分店名": "淮海中路店"}, "store_id: duplicate store_id"),
    ("ERR-FIELDS", {"__short__": True}, "-: fields, the header has"),
    ("ERR-PROV-1", {"省份代码": "31000"}, "province_code: 6-digit"),
    ("ERR-PROV-2", {"省份代码": "310100"}, "province_code: must end in 0000"),
    ("ERR-CITY-1", {"城市代码": "310000"}, "city_code: higher level"),
    ("ERR-CITY-2", {"城市代码": "320100", "区县代码": "320102"}, "city_code: not in province"),
    ("ERR-DIST-1", {"区县代码": "110105"}, "district_code: not in city"),
    ("ERR-DIST-2", {"区县代码": "310100"}, "district_code: higher level"),
    ("ERR-ADDR-1", {"地址": "南京路"}, "address: must be 4 to 50"),
    ("ERR-ADDR-2", {"地址": LONG_ADDR}, "address: must be 4 to 50"),
    ("ERR-LNG-1", {"经度": "121,45"}, "longitude: not a decimal"),
    ("ERR-LNG-2", {"经度": "121.451926123456789"}, "longitude: at most 15"),
    ("ERR-LNG-3", {"经度": "12.5"}, "longitude: outside 73..136"),
    ("ERR-LAT", {"纬度": "60.1"}, "latitude: outside 3..54"),
    ("ERR-TEL-1", {"联系电话": "021-62881234转12"}, "contact_number: only digits"),
    ("ERR-TEL-2", {"联系电话": "021-62881234,,13916880001"}, "contact_number: empty number"),
    ("ERR-TEL-3", {"联系电话": ""}, "contact_number: required for create"),
    ("ERR-MOBILE", {"店长手机": "1391688000a"}, "notify_mobile: only digits"),
    ("ERR-TIME-1", {"营业时间": "全天营业"}, "business_time: expected a time"),
    ("ERR-TIME-2", {"营业时间": "周一-周五 09:00-20:00,周五-周日 10:00-22:00"}, "business_time: same day"),
    ("ERR-TIME-3", {"营业时间": "周一-周日 25:00-26:00"}, "business_time: not a time of day"),
    ("ERR-TIME-4", {"营业时间": "周一-周三 09:00-20:00,周四-周五 09:00-21:00,周六-周日 10:00-22:00"}, "business_time: at most two"),
    ("ERR-TIME-5", {"营业时间": "周五-周一 09:00-20:00"}, "business_time: backwards"),
    ("ERR-PRICE-1", {"人均消费": "35.5"}, "avg_price: not whole yuan"),
    ("ERR-PRICE-2", {"人均消费": "0"}, "avg_price: outside 1..99999"),
    ("ERR-PRICE-3", {"人均消费": "100000"}, "avg_price: outside 1..99999"),
    ("ERR-PRICE-4", {"人均消费": "约30"}, "avg_price: not a price"),
    ("ERR-WIFI", {"WiFi": "maybe"}, "wifi: not T/F"),
    ("ERR-BRANCH-1", {"分店名": "店"}, "branch_shop_name: must be 2 to 20"),
    ("ERR-BRANCH-2", {"分店名": "上海市静安区南京西路恒隆广场地下一层美食广场店"}, "branch_shop_name: must be 2 to 20"),
    ("ERR-BRANCH-3", {"分店名": "#EMPTY#"}, "branch_shop_name: reserved"),
    ("ERR-MAIN-1", {"主店名": "鲜果坊南京西路店"}, "main_shop_name: branch part"),
    ("ERR-MAIN-2", {"主店名": "鲜果坊（南京西路店）鲜果"}, "main_shop_name: branch part"),
    ("ERR-MAIN-3", {"主店名": "鲜果坊新鲜水果与手作果茶饮品专门连锁品牌集团"}, "main_shop_name: at most 20"),
    ("ERR-CATEGORY", {"category_id": "20150507-18"}, "category_id: not a number"),
    ("ERR-IMAGE", {"main_image": "ftp://cdn.example.com/xgf/front.jpg"}, "main_image: not an image id, file path or http(s) URL"),
    ("ERR-AUDIT-IMG", {"audit_images": IMG + ",,"}, "audit_images: empty item"),
    ("ERR-ISV", {"isv_uid": "2099102146225135"}, "isv_uid: starting with 2088"),
    ("ERR-LICENCE", {"licence_code": "91310000-MA1K"}, "licence_code: only Chinese"),
    ("ERR-EXPIRES-1", {"licence_expires": "2027-02-30"}, "licence_expires: not a real date"),
    ("ERR-EXPIRES-2", {"licence_expires": "明年"}, "licence_expires: neither a date"),
    # A valid date in the past: rejected when the run starts (Alipay answers *_LICENSE_EXPIRES).
    ("ERR-EXPIRES-3", {"licence_expires": "2020-01-01"}, "licence_expires: expired on 2020-01-01"),
    ("ERR-ONLINE", {"is_operating_online": "T"}, "online_url: is_operating_online is T"),
    ("ERR-UTF8", {"分店名": "@BADBYTES@"}, "-: not valid UTF-8"),
]


def errors_bytes():
    base = dict(zip(HEADER, ["", "南京西路店", "310000", "310100", "310106",
                             "南京西路1266号恒隆广场B1层", "121.451926", "31.228531",
                             "021-62881234", "13916880001", "周一-周日 09:00-22:00", "28",
                             "是", "无"]))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(ERR_HEADER)
    for sid, over, expected in ERRORS:
        row = dict(base, 门店编号=sid)
        short = over.pop("__short__", False)
        row.update(over)
        cells = [row.get(h, "") for h in ERR_HEADER[:-1]] + [expected]
        if short:
            cells = cells[:5] + [expected]
        w.writerow(cells)
    return buf.getvalue().encode("utf-8").replace(b"@BADBYTES@", b"\xff\xfe\xe5\x8d")


def sql_text(value):
    if value is None:
        return "NULL"
    return "'" + value.replace("'", "''") + "'"


def typed_rows():
    """The sample rows with the types of the SQL tables (prices in yuan, flags as bool)."""
    for (sid, branch, (prov, city), dist, addr, lng, lat, phone, mgr, hours, avg, wifi, park) in ROWS:
        yield (sid, branch, prov, city, dist, addr, lng, lat, phone, mgr or None, hours,
               "%d.00" % price(avg), wifi in ("是", "Y", "有"), park == "有")


SQL_HEAD = """-- The sample chain 鲜果坊 (the 50 stores of stores.csv) as a POS back office holds it.
-- Generated by samples/generate.py; source-{kind}.toml reads it.
-- Load: {load}
"""

POSTGRES_TABLE = """DROP TABLE IF EXISTS stores;
CREATE TABLE stores (
    code           text PRIMARY KEY,
    branch         text NOT NULL,
    province       integer NOT NULL,
    city           integer NOT NULL,
    district       integer NOT NULL,
    address        text NOT NULL,
    lng            numeric(9, 6) NOT NULL,
    lat            numeric(8, 6) NOT NULL,
    phone          text NOT NULL,
    manager_mobile text,
    hours          text,
    avg_spend      numeric(7, 2),
    wifi           boolean,
    parking        boolean,
    closed         boolean NOT NULL DEFAULT false,
    storefront_photo text,
    shop_photos    text
);
"""

MYSQL_TABLE = """SET NAMES utf8mb4;
DROP TABLE IF EXISTS stores;
CREATE TABLE stores (
    code           VARCHAR(32) NOT NULL PRIMARY KEY,
    branch         VARCHAR(64) NOT NULL,
    province       INT NOT NULL,
    city           INT NOT NULL,
    district       INT NOT NULL,
    address        VARCHAR(128) NOT NULL,
    lng            DECIMAL(9, 6) NOT NULL,
    lat            DECIMAL(8, 6) NOT NULL,
    phone          VARCHAR(64) NOT NULL,
    manager_mobile VARCHAR(20) NULL,
    hours          VARCHAR(128) NULL,
    avg_spend      DECIMAL(7, 2) NULL,
    wifi           BOOLEAN NULL,
    parking        BOOLEAN NULL,
    closed         BOOLEAN NOT NULL DEFAULT FALSE,
    storefront_photo VARCHAR(255) NULL,
    shop_photos    VARCHAR(1024) NULL
) DEFAULT CHARSET = utf8mb4;
"""


def sql_dump(kind):
    if kind == "postgres":
        head = SQL_HEAD.format(kind=kind, load="psql -v ON_ERROR_STOP=1 -d pos -f samples/stores-postgres.sql")
        table = POSTGRES_TABLE
        boolean = lambda b: "true" if b else "false"
    else:
        head = SQL_HEAD.format(kind=kind, load="mariadb pos < samples/stores-mysql.sql   (or: mysql pos < …)")
        table = MYSQL_TABLE
        boolean = lambda b: "TRUE" if b else "FALSE"
    values = []
    for (sid, branch, prov, city, dist, addr, lng, lat, phone, mgr, hours, avg, wifi, park) in typed_rows():
        front, shop = photos(sid)
        values.append("    (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)" % (
            sql_text(sid), sql_text(branch), prov, city, dist, sql_text(addr), lng, lat,
            sql_text(phone), sql_text(mgr), sql_text(hours), avg, boolean(wifi), boolean(park),
            boolean(False), sql_text(front), sql_text(shop)))
    insert = ("INSERT INTO stores (code, branch, province, city, district, address, lng, lat, phone,\n"
              "                    manager_mobile, hours, avg_spend, wifi, parking, closed,\n"
              "                    storefront_photo, shop_photos) VALUES\n")
    return head + table + insert + ",\n".join(values) + ";\n"


def main():
    with open(os.path.join(HERE, "stores-with-errors.csv"), "wb") as f:
        f.write(errors_bytes())
    text = csv_text()
    with open(os.path.join(HERE, "stores.csv"), "w", encoding="utf-8", newline="") as f:
        f.write(text)
    with open(os.path.join(HERE, "stores-gbk.csv"), "wb") as f:
        f.write(text.encode("gbk"))
    db = os.path.join(HERE, "stores.sqlite")
    if os.path.exists(db):
        os.remove(db)
    con = sqlite3.connect(db)
    con.execute("""CREATE TABLE stores (
        code TEXT PRIMARY KEY, branch TEXT NOT NULL,
        province INTEGER NOT NULL, city INTEGER NOT NULL, district INTEGER NOT NULL,
        address TEXT NOT NULL, lng REAL NOT NULL, lat REAL NOT NULL,
        phone TEXT NOT NULL, manager_mobile TEXT, hours TEXT,
        avg_spend INTEGER, wifi INTEGER, parking INTEGER, closed INTEGER NOT NULL DEFAULT 0,
        storefront_photo TEXT, shop_photos TEXT)""")
    for (sid, branch, (prov, city), dist, addr, lng, lat, phone, mgr, hours, avg, wifi, park) in ROWS:
        con.execute(
            "INSERT INTO stores VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,?,?)",
            (sid, branch, int(prov), int(city), int(dist), addr, float(lng), float(lat), phone,
             mgr or None, hours, price(avg), 1 if wifi in ("是", "Y", "有") else 0,
             1 if park == "有" else 0, *photos(sid)))
    con.commit()
    con.execute("VACUUM")
    con.close()
    for kind in ("postgres", "mysql"):
        with open(os.path.join(HERE, "stores-%s.sql" % kind), "w", encoding="utf-8", newline="\n") as f:
            f.write(sql_dump(kind))


if __name__ == "__main__":
    main()
